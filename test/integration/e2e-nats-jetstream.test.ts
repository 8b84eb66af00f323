/** End-to-end: NATS JetStream -> gateway -> WebSocket clients (see helpers/e2e-suite.ts). */
import { JetStreamDriver } from "./helpers/drivers.ts";
import { runE2eSuite } from "./helpers/e2e-suite.ts";

runE2eSuite(new JetStreamDriver());
