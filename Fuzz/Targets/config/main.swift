// libFuzzer target: config.json, then everything sized from it before any allocation.
import Foundation
import Kernels
import Model

let scratch = URL(fileURLWithPath: "/dev/shm/evalharness-fuzz-\(getpid())-config.json")

@_cdecl("LLVMFuzzerTestOneInput")
func fuzz(_ bytes: UnsafePointer<UInt8>, _ count: Int) -> CInt {
    FileManager.default.createFile(atPath: scratch.path, contents: Data(bytes: bytes, count: count))
    guard let config = try? BertConfig.load(from: scratch) else { return 0 }
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

// SwiftPM links an executable's `main`, so libFuzzer's own is not used: hand it the arguments.
@_silgen_name("LLVMFuzzerRunDriver")
func LLVMFuzzerRunDriver(_ argc: UnsafeMutablePointer<CInt>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
                         _ testOneInput: @convention(c) (UnsafePointer<UInt8>, Int) -> CInt) -> CInt

var argc = CommandLine.argc
var argv = Optional(CommandLine.unsafeArgv)
exit(LLVMFuzzerRunDriver(&argc, &argv) { fuzz($0, $1) })
