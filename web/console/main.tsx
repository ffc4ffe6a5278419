// Entry point of the console page (bundled into dist/console/console.js by scripts/build-console.ts).
import { render } from 'preact';
import { App } from './app.js';

const root = document.getElementById('app');
if (root !== null) {
  root.textContent = '';
  render(<App />, root);
}
