/** End-to-end: Redis Streams -> gateway -> WebSocket clients (see helpers/e2e-suite.ts). */
import { RedisDriver } from "./helpers/drivers.ts";
import { runE2eSuite } from "./helpers/e2e-suite.ts";

runE2eSuite(new RedisDriver());
