// The registrar conformance suite (registrar.case.ts) in-process: the built-in registrar script and
// the Kamailio test peer's registrar.cfg compiled by flowgate (issue 11, one suite in three forms;
// Kamailio itself: registrar-kamailio.test.ts).
import { inProcessRegistrar } from '../../support/seed-forms.js';
import { runRegistrarSuite } from './registrar.case.js';

runRegistrarSuite(inProcessRegistrar('ts'));
runRegistrarSuite(inProcessRegistrar('cfg'));
