// libFuzzer target: config.json, then everything sized from it before any allocation.
import Foundation
import FuzzSupport
import Kernels
import Model

@_cdecl("LLVMFuzzerTestOneInput")
func fuzz(_ bytes: UnsafePointer<UInt8>, _ count: Int) -> CInt {
    guard let config = try? BertConfig.load(from: scratchFile(bytes, count, extension: "json")) else { return 0 }
    // A config that loads must size its buffers without overflow, and the budget must decide.
    let budget = MemoryBudget(availableBytes: 1 << 30)
    let parameters = EncoderParameterLayout.checkedCount(config: config)
    if (try? budget.require(parameters * 4, for: "parameters", source: "fuzz")) != nil {
        _ = EncoderParameterLayout(config: config).totalCount
    }
    for (batch, tokens) in [(1, 1), (32, 128), (Int(Int32.max), 2)] {
        _ = MemoryBudget.encoderBytes(config: config, batch: batch, tokens: tokens, training: true, trainsAllWeights: true)
        _ = try? config.checkBatchShape(batch: batch, tokens: tokens, virtualTokens: 20, source: "fuzz")
    }
    return 0
}

runFuzzer { fuzz($0, $1) }
