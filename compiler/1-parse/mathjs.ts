// math.js's expression parser alone. `import { parse } from 'mathjs'` builds the whole library
// (every function, BigNumber, units, …: ~1 s to load); `create` with only `parse`'s dependencies
// from the number-only build gives the same parser (its node trees do not depend on the number
// type) and, bundled, loads in a few tens of milliseconds (see docs/build.md).
import { create, parseDependencies } from 'mathjs/number';

export const { parse } = create({ parseDependencies });
