/** Entry of the package's `cex-ws` bin (clients/ts/build.ts bundles it): runs the CLI and exits with its code. */
import { main } from "./index.ts";

process.exit(await main());
