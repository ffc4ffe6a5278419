// Evaluated by main.ts before the program is loaded: for `flowgate start`, V8's heap is tuned
// while the young generation still has its start size (src/util/heap-tuning.ts). It imports
// nothing but node:v8, through heap-tuning.ts.
import { tuneHeap } from '../util/heap-tuning.js';

if (process.argv[2] === 'start') tuneHeap();
