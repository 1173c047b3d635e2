// The engine's TypeScript mirrors of kernel constants are checked against the module's exported globals
// when it is instantiated: a constant changed on one side only must fail there, by name.
import { describe, expect, it } from "vitest";
import { checkMirrors, kernelModule } from "../../engine/exec/wasm.js";

describe("kernel constant mirrors", () => {
  it("match the module's exports, and a mismatch is refused by name", () => {
    const memory = new WebAssembly.Memory({ initial: 2, maximum: 65536, shared: true });
    const instance = new WebAssembly.Instance(kernelModule(), { env: { memory, abort: () => {} } });
    expect(() => checkMirrors(instance.exports)).not.toThrow();
    const wrong = { ...instance.exports, KEY_TEXT_MAX_BYTES: new WebAssembly.Global({ value: "i32" }, 25) };
    expect(() => checkMirrors(wrong)).toThrow(/KEY_TEXT_MAX_BYTES is 25 in the module but 26/);
    const { LUT_U16_BYTES: _gone, ...missing } = instance.exports;
    expect(() => checkMirrors(missing)).toThrow(/LUT_U16_BYTES/);
  });
});
