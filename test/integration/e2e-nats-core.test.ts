/** End-to-end: core NATS -> gateway -> WebSocket clients (see helpers/e2e-suite.ts). */
import { NatsCoreDriver } from "./helpers/drivers.ts";
import { runE2eSuite } from "./helpers/e2e-suite.ts";

runE2eSuite(new NatsCoreDriver());
