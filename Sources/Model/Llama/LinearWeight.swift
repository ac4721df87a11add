import COpenBLAS
import Foundation
import Kernels

/// A weight matrix (out, in), PyTorch's layout: in fp32, in the ggml blocks the GGUF file stores
/// (Q4_1, Q8_0, …), or in bitsandbytes' NF4 (QLoRA's frozen base); the quantised forms are decoded
/// a panel of rows at a time inside the product — SmolLM2's weights then take 98 MB instead of
/// 540. The decoded values are the fp32 path's, bit for bit.
public enum LinearWeight: Sendable {
    case dense([Float])
    case blocks(type: GGMLType, bytes: [UInt8], rows: Int, columns: Int)
    /// The flattened (out, in) matrix quantised as bitsandbytes' `Linear4bit` does it.
    case nf4(NF4Tensor, rows: Int, columns: Int)

    /// The fp32 matrix quantised to NF4 (blocks of 64, optionally double-quantised scales), as
    /// bitsandbytes quantises an `nn.Linear` when a model loads in 4 bits; a quantised matrix stays as it is.
    public func quantizedToNF4(rows: Int, columns: Int, doubleQuantize: Bool) -> LinearWeight {
        guard case .dense(let values) = self else { return self }
        return .nf4(NF4Tensor.quantize(values, count: values.count, blockSize: 64, doubleQuantize: doubleQuantize),
                    rows: rows, columns: columns)
    }

    /// Bytes held.
    public var byteCount: Int {
        switch self {
        case .dense(let values): values.count * 4
        case .blocks(_, let bytes, _, _): bytes.count
        case .nf4(let tensor, _, _): tensor.byteCount
        }
    }

    /// The fp32 values (decoding blocks).
    public var floats: [Float] {
        switch self {
        case .dense(let values): return values
        case .blocks(let type, let bytes, let rows, let columns):
            return [Float](unsafeUninitializedCapacity: rows * columns) { buffer, count in
                bytes.withUnsafeBytes { Dequantize.run(type, from: $0.baseAddress!, count: rows * columns, into: buffer.baseAddress!) }
                count = rows * columns
            }
        case .nf4(let tensor, let rows, let columns):
            return [Float](unsafeUninitializedCapacity: rows * columns) { buffer, count in
                tensor.dequantize(into: buffer.baseAddress!)
                count = rows * columns
            }
        }
    }

    /// Row `row` (`columns` values) into `out`: the embedding lookup.
    func copyRow(_ row: Int, columns: Int, into out: UnsafeMutablePointer<Float>) {
        decodeRows(row, count: 1, columns: columns, into: out)
    }

    /// Decodes weight rows `first ..< first + count` (`columns` each) into `out` (serially).
    private func decodeRows(_ first: Int, count: Int, columns: Int, into out: UnsafeMutablePointer<Float>) {
        switch self {
        case .dense(let values):
            values.withUnsafeBufferPointer { out.update(from: $0.baseAddress! + first * columns, count: count * columns) }
        case .blocks(let type, let bytes, _, _):
            let rowBytes = columns / type.blockSize * type.blockBytes
            bytes.withUnsafeBytes { Dequantize.run(type, from: $0.baseAddress! + first * rowBytes, count: count * columns, into: out) }
        case .nf4(let tensor, _, _):
            tensor.dequantize((first * columns)..<((first + count) * columns), into: out)
        }
    }

    /// At most this many weight rows are decoded at once: enough output columns for sgemm to run
    /// well, few enough to stay in cache.
    static let maximumPanelRows = 512

    /// out[N, OC] (+)= inp[N, IC] · Wᵀ, as `matmulForward`. Dense weights split the N rows across
    /// workers; quantised ones split the OC output rows, each worker decoding a panel of weight rows
    /// into its own scratch and multiplying it into its columns of `out`.
    func forward(out: UnsafeMutablePointer<Float>, inp: UnsafePointer<Float>, rows N: Int, inFeatures IC: Int,
                 outFeatures OC: Int, accumulate: Bool = false) {
        if case .dense(let values) = self {
            values.withUnsafeBufferPointer {
                matmulForward(out: out, inp: inp, weight: $0.baseAddress!, bias: nil, rows: N, inFeatures: IC, outFeatures: OC,
                              accumulate: accumulate)
            }
            return
        }
        // Equal panels, a multiple of the worker count of them, so every worker has a share.
        let workers = Parallel.threadCount
        let minimumPanels = (OC + Self.maximumPanelRows - 1) / Self.maximumPanelRows
        let panelCount = max(1, (max(minimumPanels, workers) + workers - 1) / workers * workers)
        let panel = (OC + panelCount - 1) / panelCount
        let panels = (OC + panel - 1) / panel
        Parallel.forEachRange(panels) { range in
            let scratch = UnsafeMutablePointer<Float>.allocate(capacity: panel * IC)
            defer { scratch.deallocate() }
            for p in range {
                let first = p * panel, count = min(panel, OC - first)
                decodeRows(first, count: count, columns: IC, into: scratch)
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(N), Int32(count), Int32(IC),
                            1, inp, Int32(IC), scratch, Int32(IC), accumulate ? 1 : 0, out + first, Int32(OC))
            }
        }
    }

    /// The fp32 matrix (rows, columns) written into `out`, the workers decoding a share of the rows each.
    func decode(into out: UnsafeMutablePointer<Float>, rows: Int, columns: Int) {
        Parallel.forEachRange(rows, minimumChunk: 16) { range in
            decodeRows(range.lowerBound, count: range.count, columns: columns, into: out + range.lowerBound * columns)
        }
    }

    /// `body` given the matrix (rows, columns) in fp32: a dense weight's own values; a quantised
    /// one decoded whole into `scratch` (at least rows·columns floats) first, as bitsandbytes
    /// does on the CPU. Training multiplies every weight twice a step (forward and input
    /// gradient) by all N = batch·seq rows, so one decode per product costs little there, and
    /// the products are then the dense ones, split by rows (the panel-wise `forward` is for
    /// inference, where a weight may meet a single row).
    func withFloats<Result>(rows: Int, columns: Int, scratch: UnsafeMutablePointer<Float>,
                            _ body: (UnsafePointer<Float>) -> Result) -> Result {
        if case .dense(let values) = self { return values.withUnsafeBufferPointer { body($0.baseAddress!) } }
        decode(into: scratch, rows: rows, columns: columns)
        return body(scratch)
    }
}
