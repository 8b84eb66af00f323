/** End-to-end: RabbitMQ (queues) -> gateway -> WebSocket clients (see helpers/e2e-suite.ts). */
import { RabbitMqDriver } from "./helpers/drivers.ts";
import { runE2eSuite } from "./helpers/e2e-suite.ts";

runE2eSuite(new RabbitMqDriver("queue"));
