/** End-to-end: Kafka -> gateway -> WebSocket clients (see helpers/e2e-suite.ts). */
import { KafkaDriver } from "./helpers/drivers.ts";
import { runE2eSuite } from "./helpers/e2e-suite.ts";

runE2eSuite(new KafkaDriver());
