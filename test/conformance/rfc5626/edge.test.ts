// The edge conformance suite (edge.case.ts) in-process: the built-in TypeScript edge and the Kamailio
// test peer's edge.cfg compiled by flowgate (issue 11, one suite in three forms; Kamailio itself:
// edge-kamailio.test.ts).
import { inProcessEdge } from '../../support/seed-forms.js';
import { runEdgeSuite } from './edge.case.js';

runEdgeSuite(inProcessEdge('ts'));
runEdgeSuite(inProcessEdge('cfg'));
