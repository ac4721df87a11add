/// QLoRA's 4-bit NormalFloat (NF4) weight storage, bit-compatible with bitsandbytes 0.50.2 on CPU:
/// `quantize_4bit` / `dequantize_4bit` with quant_type "nf4", blocksize 64, uint8 storage, with and
/// without double quantisation of the block scales (`compress_statistics=True`).
///
/// The layout, as bitsandbytes' sources have it (functional.py, backends/default/ops.py,
/// backends/cpu/ops.py, csrc/cpu_ops.cpp, csrc/kernels.cu):
/// - The weight is flattened row-major and cut into blocks of `blockSize` consecutive values; the
///   last block may be partial. Each block keeps absmax = max |x|.
/// - Each value stores the index of the NF4 code nearest to x / absmax: the number of decision
///   thresholds (midpoints of neighbouring codes) that x / absmax exceeds, so a value exactly on a
///   threshold takes the LOWER code (torch.bucketize on the CPU; the same comparisons `x > t` in
///   the CUDA kernel dQuantizeNF4, whose literals sit one ulp away at four thresholds).
///   Full blocks scale by a multiply with 1 / absmax; the partial last block by a true division
///   (the CPU backend's `A / am`); absmax is clamped to at least 1e-38 for the scaling, and the
///   partial block also STORES the clamped value. An all-zero full block stores absmax 0, codes 7.
/// - Two indices per byte, the FIRST value in the HIGH nibble; an odd count pads the low nibble of
///   the last byte with 7 (the code of 0.0).
/// - Dequantised value = code[index] · absmax: one float32 multiply.
///
/// Double quantisation (`compress_statistics=True`): offset = mean(absmax) as torch computes a
/// float32 mean; absmax − offset is quantised in blocks of 256 to 8 bits with the signed dynamic
/// code (`create_dynamic_map(signed=True)`), one float32 absmax per 256-block, by bitsandbytes' CPU
/// quantize_blockwise (a 65536-entry lookup table over [-1, 1]). Dequantisation rebuilds each block
/// scale as dynamicCode[code] · nestedAbsmax + offset (two float32 roundings) before the 4-bit step.
///
/// Where bitsandbytes on CUDA differs (so a CUDA-quantised checkpoint may differ in a few bytes):
/// its 8-bit blockwise quantiser searches the nearest code exactly (the CPU lookup table picks
/// another code for 0.23 % of the block absmax values of this model's 36 encoder weights: mostly a
/// neighbour, a few codes away near 0 where the dynamic code is finer than the table); torch's
/// CUDA mean sums in another order; the partial block multiplies by 1 / absmax; an all-zero block
/// gives codes 0 (NaN comparisons); four of dQuantizeNF4's float literals are one ulp off the
/// float32 midpoints. Dequantisation of a given state is the same everywhere.
public enum NF4 {
    /// `get_4bit_type("nf4")`: the 16 code values in index order (ascending), normalised to [-1, 1].
    public static let code: [Float] = [
        -1.0, -0.6961928009986877, -0.5250730514526367, -0.39491748809814453,
        -0.28444138169288635, -0.18477343022823334, -0.09105003625154495, 0.0,
        0.07958029955625534, 0.16093020141124725, 0.24611230194568634, 0.33791524171829224,
        0.44070982933044434, 0.5626170039176941, 0.7229568362236023, 1.0,
    ]

    /// The 15 decision thresholds (code[i] + code[i+1]) / 2 in float32, the boundaries bitsandbytes'
    /// CPU backend bucketizes on; equal to the CUDA kernel dQuantizeNF4's literals rounded through
    /// double, one ulp off four of them rounded straight to float (see `nf4QuantizeTree`).
    public static let thresholds: [Float] = (0..<15).map { (code[$0] + code[$0 + 1]) / 2 }

    /// Block size of the nested (double) quantisation of the block absmax values.
    public static let nestedBlockSize = 256

    /// `create_dynamic_map(signed=True)` as float32 bit patterns: 127 negative values, 0, 127
    /// positive values and 1.0, ascending. Stored, not recomputed: bitsandbytes builds it from
    /// torch.linspace, whose float32 rounding depends on torch's vectorisation (these are the values
    /// of torch's AVX2 and AVX512 kernels; the fixture test checks them against bitsandbytes).
    public static let dynamicCode: [Float] = dynamicCodeBits.map(Float.init(bitPattern:))

    private static let dynamicCodeBits: [UInt32] = [
        0xBF7E3333, 0xBF7A999A, 0xBF770000, 0xBF736666, 0xBF6FCCCD, 0xBF6C3333, 0xBF68999A, 0xBF650000,
        0xBF616666, 0xBF5DCCCD, 0xBF5A3333, 0xBF56999A, 0xBF530000, 0xBF4F6666, 0xBF4BCCCD, 0xBF483333,
        0xBF44999A, 0xBF410000, 0xBF3D6666, 0xBF39CCCD, 0xBF363334, 0xBF32999A, 0xBF2F0000, 0xBF2B6666,
        0xBF27CCCD, 0xBF243334, 0xBF20999A, 0xBF1D0000, 0xBF196666, 0xBF15CCCD, 0xBF123334, 0xBF0E999A,
        0xBF0B0000, 0xBF076666, 0xBF03CCCC, 0xBF003333, 0xBEF93332, 0xBEF20000, 0xBEEACCCC, 0xBEE3999A,
        0xBEDC6666, 0xBED53333, 0xBECE0000, 0xBEC6CCCC, 0xBEBF999A, 0xBEB86666, 0xBEB13333, 0xBEAA0000,
        0xBEA2CCCC, 0xBE9B999A, 0xBE946666, 0xBE8D3334, 0xBE860000, 0xBE7D9999, 0xBE6F3333, 0xBE60CCCD,
        0xBE526666, 0xBE440000, 0xBE35999A, 0xBE273333, 0xBE18CCCD, 0xBE0A6666, 0xBDF80000, 0xBDDB3334,
        0xBDC9EB85, 0xBDC428F7, 0xBDBE6667, 0xBDB8A3D7, 0xBDB2E148, 0xBDAD1EB8, 0xBDA75C2A, 0xBDA1999A,
        0xBD9BD70A, 0xBD96147B, 0xBD9051EB, 0xBD8A8F5D, 0xBD84CCCD, 0xBD7E147B, 0xBD728F5D, 0xBD670A3D,
        0xBD5B851F, 0xBD500000, 0xBD447AE1, 0xBD38F5C3, 0xBD2D70A3, 0xBD21EB85, 0xBD166667, 0xBD0AE148,
        0xBCFEB852, 0xBCE7AE15, 0xBCD0A3D7, 0xBCB9999A, 0xBCA28F5D, 0xBC8B851F, 0xBC68F5C3, 0xBC3AE148,
        0xBC1F3B64, 0xBC160418, 0xBC0CCCCD, 0xBC039581, 0xBBF4BC6A, 0xBBE24DD3, 0xBBCFDF3B, 0xBBBD70A4,
        0xBBAB020D, 0xBB989374, 0xBB8624DD, 0xBB676C8A, 0xBB428F5C, 0xBB1DB22D, 0xBAF1A9FC, 0xBAA7EF9D,
        0xBA7765FF, 0xBA59E83E, 0xBA3C6A80, 0xBA1EECC1, 0xBA016F01, 0xB9C7E283, 0xB98CE705, 0xB923D70B,
        0xB8BA1F4B, 0xB88AEFB3, 0xB8378034, 0xB7B24206, 0xB70205FF, 0xB65A1A94, 0xB513A3B7, 0x00000000,
        0x3513A3B7, 0x365A1A94, 0x370205FF, 0x37B24206, 0x38378034, 0x388AEFB3, 0x38BA1F4B, 0x3923D70B,
        0x398CE705, 0x39C7E283, 0x3A016F01, 0x3A1EECC1, 0x3A3C6A80, 0x3A59E83E, 0x3A7765FF, 0x3AA7EF9D,
        0x3AF1A9FC, 0x3B1DB22D, 0x3B428F5C, 0x3B676C8A, 0x3B8624DD, 0x3B989374, 0x3BAB020D, 0x3BBD70A4,
        0x3BCFDF3B, 0x3BE24DD3, 0x3BF4BC6A, 0x3C039581, 0x3C0CCCCD, 0x3C160418, 0x3C1F3B64, 0x3C3AE148,
        0x3C68F5C3, 0x3C8B851F, 0x3CA28F5D, 0x3CB9999A, 0x3CD0A3D7, 0x3CE7AE15, 0x3CFEB852, 0x3D0AE148,
        0x3D166667, 0x3D21EB85, 0x3D2D70A3, 0x3D38F5C3, 0x3D447AE1, 0x3D500000, 0x3D5B851F, 0x3D670A3D,
        0x3D728F5D, 0x3D7E147B, 0x3D84CCCD, 0x3D8A8F5D, 0x3D9051EB, 0x3D96147B, 0x3D9BD70A, 0x3DA1999A,
        0x3DA75C2A, 0x3DAD1EB8, 0x3DB2E148, 0x3DB8A3D7, 0x3DBE6667, 0x3DC428F7, 0x3DC9EB85, 0x3DDB3334,
        0x3DF80000, 0x3E0A6666, 0x3E18CCCD, 0x3E273333, 0x3E35999A, 0x3E440000, 0x3E526666, 0x3E60CCCD,
        0x3E6F3333, 0x3E7D9999, 0x3E860000, 0x3E8D3334, 0x3E946666, 0x3E9B999A, 0x3EA2CCCC, 0x3EAA0000,
        0x3EB13333, 0x3EB86666, 0x3EBF999A, 0x3EC6CCCC, 0x3ECE0000, 0x3ED53333, 0x3EDC6666, 0x3EE3999A,
        0x3EEACCCC, 0x3EF20000, 0x3EF93332, 0x3F003333, 0x3F03CCCC, 0x3F076666, 0x3F0B0000, 0x3F0E999A,
        0x3F123334, 0x3F15CCCD, 0x3F196666, 0x3F1D0000, 0x3F20999A, 0x3F243334, 0x3F27CCCD, 0x3F2B6666,
        0x3F2F0000, 0x3F32999A, 0x3F363334, 0x3F39CCCD, 0x3F3D6666, 0x3F410000, 0x3F44999A, 0x3F483333,
        0x3F4BCCCD, 0x3F4F6666, 0x3F530000, 0x3F56999A, 0x3F5A3333, 0x3F5DCCCD, 0x3F616666, 0x3F650000,
        0x3F68999A, 0x3F6C3333, 0x3F6FCCCD, 0x3F736666, 0x3F770000, 0x3F7A999A, 0x3F7E3333, 0x3F800000,
    ]

    /// byte → (code[byte >> 4], code[byte & 15]): the two values a packed byte holds, in order.
    static let pairTable: [SIMD2<Float>] = (0..<256).map { SIMD2(code[$0 >> 4], code[$0 & 15]) }

    /// bitsandbytes' CPU quantize_blockwise lookup table (csrc/cpu_ops.cpp build_quantize_lut): entry
    /// i is the first code whose upper midpoint is not below -1 + 2i/65535 (float32 arithmetic).
    static let dynamicLookup: [UInt8] = {
        let table = dynamicCode
        let midpoints = (0..<255).map { 0.5 * (table[$0] + table[$0 + 1]) }
        var lookup = [UInt8](repeating: 0, count: 65536)
        var index = 0
        for i in 0..<65536 {
            let value = (2 * Float(i)) / 65535 - 1
            while index < 255 && midpoints[index] < value { index += 1 }
            lookup[i] = UInt8(index)
        }
        return lookup
    }()
}

/// Block absmax values compressed by bitsandbytes' double quantisation.
public struct DoubleQuantizedAbsmax: Sendable, Equatable {
    /// Index into `NF4.dynamicCode` of (absmax − offset) / nested absmax, one per 4-bit block.
    public var codes: [UInt8]
    /// One float32 absmax of the centred values per `blockSize` codes.
    public var absmax: [Float]
    /// The mean of the 4-bit blocks' absmax values, subtracted before quantising.
    public var offset: Float
    /// Codes per nested block (bitsandbytes: 256).
    public let blockSize: Int

    public init(codes: [UInt8], absmax: [Float], offset: Float, blockSize: Int = NF4.nestedBlockSize) {
        precondition(blockSize > 0 && absmax.count == (codes.count + blockSize - 1) / blockSize)
        self.codes = codes
        self.absmax = absmax
        self.offset = offset
        self.blockSize = blockSize
    }

    /// The 4-bit blocks' absmax values as bitsandbytes rebuilds them: code · nested absmax + offset.
    public func blockAbsmax() -> [Float] {
        var out = [Float](repeating: 0, count: codes.count)
        dynamicDequantizeBlockwise(out: &out, codes: codes, absmax: absmax, count: codes.count, blockSize: blockSize)
        for i in out.indices { out[i] += offset }
        return out
    }
}

/// A weight stored in bitsandbytes' NF4 layout.
public struct NF4Tensor: Sendable, Equatable {
    /// Number of values (the last block may be partial).
    public let count: Int
    /// Values per absmax block (bitsandbytes' default and QLoRA's: 64).
    public let blockSize: Int
    /// (count + 1) / 2 bytes, the first value of each pair in the high nibble.
    public var packed: [UInt8]
    /// One absmax per block; empty when `doubleQuantized` holds them.
    public var absmax: [Float]
    /// The compressed block absmax values (bitsandbytes' compress_statistics=True), or nil.
    public var doubleQuantized: DoubleQuantizedAbsmax?

    /// bitsandbytes' accepted block sizes.
    public static let validBlockSizes = [32, 64, 128, 256, 512, 1024, 2048, 4096]

    public init(count: Int, blockSize: Int = 64, packed: [UInt8], absmax: [Float], doubleQuantized: DoubleQuantizedAbsmax?) {
        precondition(count >= 0 && Self.validBlockSizes.contains(blockSize), "invalid count or block size")
        let blocks = (count + blockSize - 1) / blockSize
        precondition(packed.count == (count + 1) / 2, "packed must hold (count + 1) / 2 bytes")
        if let doubleQuantized {
            precondition(absmax.isEmpty && doubleQuantized.codes.count == blocks, "one nested code per block")
        } else {
            precondition(absmax.count == blocks, "one absmax per block")
        }
        self.count = count
        self.blockSize = blockSize
        self.packed = packed
        self.absmax = absmax
        self.doubleQuantized = doubleQuantized
    }

    public var blockCount: Int { (count + blockSize - 1) / blockSize }

    /// Storage of the quantised weight: packed nibbles + float32 absmax per block, or with double
    /// quantisation packed nibbles + one byte per block + float32 per 256 blocks + the offset. The
    /// shared code tables (16 and 256 floats, constants) are not counted.
    public var byteCount: Int {
        var bytes = packed.count + absmax.count * MemoryLayout<Float>.size
        if let doubleQuantized {
            bytes += doubleQuantized.codes.count + (doubleQuantized.absmax.count + 1) * MemoryLayout<Float>.size
        }
        return bytes
    }

    /// The absmax of every block as dequantisation uses it (rebuilt when double-quantised).
    public func blockAbsmax() -> [Float] { doubleQuantized?.blockAbsmax() ?? absmax }

    /// Quantises `count` values (a weight flattened row-major) as bitsandbytes' quantize_4bit(nf4),
    /// optionally double-quantising the block absmax values; parallel over blocks.
    public static func quantize(
        _ values: UnsafePointer<Float>,     // (count)
        count: Int, blockSize: Int = 64, doubleQuantize: Bool
    ) -> NF4Tensor {
        precondition(count >= 0 && validBlockSizes.contains(blockSize), "invalid count or block size")
        guard count > 0 else { return NF4Tensor(count: 0, blockSize: blockSize, packed: [], absmax: [], doubleQuantized: nil) }
        let blocks = (count + blockSize - 1) / blockSize
        var packed = [UInt8](repeating: 0, count: (count + 1) / 2)
        var absmax = [Float](repeating: 0, count: blocks)
        packed.withUnsafeMutableBufferPointer { packedBuffer in
            absmax.withUnsafeMutableBufferPointer { absmaxBuffer in
                nf4QuantizeBlocks(packed: packedBuffer.baseAddress!, absmax: absmaxBuffer.baseAddress!,
                                  values: values, count: count, blockSize: blockSize)
            }
        }
        guard doubleQuantize, blocks > 0 else {
            return NF4Tensor(count: count, blockSize: blockSize, packed: packed, absmax: absmax, doubleQuantized: nil)
        }
        let offset = torchMeanFloat32(absmax, count: blocks)
        let centred = absmax.map { $0 - offset }
        let nestedBlocks = (blocks + NF4.nestedBlockSize - 1) / NF4.nestedBlockSize
        var codes = [UInt8](repeating: 0, count: blocks)
        var nestedAbsmax = [Float](repeating: 0, count: nestedBlocks)
        dynamicQuantizeBlockwise(codes: &codes, absmax: &nestedAbsmax, values: centred, count: blocks,
                                 blockSize: NF4.nestedBlockSize)
        return NF4Tensor(count: count, blockSize: blockSize, packed: packed, absmax: [],
                         doubleQuantized: DoubleQuantizedAbsmax(codes: codes, absmax: nestedAbsmax, offset: offset))
    }

    /// Writes the `count` dequantised values (bitsandbytes' dequantize_4bit, bit for bit): a
    /// 256-entry byte → (2 codes) table, one multiply per value; parallel over blocks.
    public func dequantize(into out: UnsafeMutablePointer<Float>) {   // (count)
        let blocks = blockCount, blockSize = self.blockSize, count = self.count
        Parallel.forEachRange(blocks, minimumChunk: max(1, 16384 / blockSize)) { range in
            let values = (range.lowerBound * blockSize)..<min(range.upperBound * blockSize, count)
            dequantize(values, into: out + values.lowerBound)
        }
    }

    /// Writes the dequantised values at flat indices `values` (serially) into `out`: a panel of
    /// a weight's rows, which need not start or end on a block or a byte.
    public func dequantize(_ values: Range<Int>, into out: UnsafeMutablePointer<Float>) {   // (values.count)
        precondition(values.lowerBound >= 0 && values.upperBound <= count, "values outside the tensor")
        guard !values.isEmpty else { return }
        let blockSize = self.blockSize
        packed.withUnsafeBufferPointer { packedBuffer in
        absmax.withUnsafeBufferPointer { absmaxBuffer in
        NF4.pairTable.withUnsafeBufferPointer { pairBuffer in
        NF4.dynamicCode.withUnsafeBufferPointer { dynamicBuffer in
            let nested = doubleQuantized
            (nested?.codes ?? []).withUnsafeBufferPointer { codeBuffer in
            (nested?.absmax ?? []).withUnsafeBufferPointer { nestedBuffer in
                let bytes = packedBuffer.baseAddress!, pairs = pairBuffer.baseAddress!
                for block in (values.lowerBound / blockSize)...((values.upperBound - 1) / blockSize) {
                    // The nested scale in two float32 roundings, as bitsandbytes: dequantize_blockwise, then + offset.
                    let scale = nested.map { dynamicBuffer[Int(codeBuffer[block])] * nestedBuffer[block / $0.blockSize] + $0.offset }
                        ?? absmaxBuffer[block]
                    var start = max(block * blockSize, values.lowerBound)
                    let end = min((block + 1) * blockSize, values.upperBound)
                    if start % 2 == 1 {   // an odd first value is the low nibble of its byte
                        out[start - values.lowerBound] = pairs[Int(bytes[start / 2])].y * scale
                        start += 1
                    }
                    if start < end {
                        nf4DequantizeSpan(out: out + (start - values.lowerBound), packed: bytes + start / 2, length: end - start,
                                          scale: scale, pairs: pairs)
                    }
                }
            }
            }
        }
        }
        }
        }
    }
}

/// One block's values: pairs of codes from the byte table, scaled.
@inline(__always)
private func nf4DequantizeSpan(
    out: UnsafeMutablePointer<Float>,       // (length)
    packed: UnsafePointer<UInt8>,           // ((length + 1) / 2)
    length: Int, scale: Float,
    pairs: UnsafePointer<SIMD2<Float>>      // (256)
) {
    let raw = UnsafeMutableRawPointer(out)
    let pairCount = length / 2
    var j = 0
    // Eight bytes (16 values) a step: one 64-bit load of the packed bytes.
    while j + 8 <= pairCount {
        let word = UnsafeRawPointer(packed + j).loadUnaligned(as: UInt64.self)
        for k in 0..<8 {
            let byte = Int(truncatingIfNeeded: word >> UInt64(8 * k)) & 0xFF
            raw.storeBytes(of: pairs[byte] * scale, toByteOffset: 8 * (j + k), as: SIMD2<Float>.self)
        }
        j += 8
    }
    while j < pairCount {
        raw.storeBytes(of: pairs[Int(packed[j])] * scale, toByteOffset: 8 * j, as: SIMD2<Float>.self)
        j += 1
    }
    if length % 2 == 1 { out[length - 1] = pairs[Int(packed[pairCount])].x * scale }
}

/// The fast quantiser behind `NF4Tensor.quantize`: 16 values a step, the code index as the count of
/// thresholds exceeded; the partial last block scalar.
private func nf4QuantizeBlocks(
    packed: UnsafeMutablePointer<UInt8>,    // ((count + 1) / 2)
    absmax: UnsafeMutablePointer<Float>,    // (ceil(count / blockSize))
    values: UnsafePointer<Float>,           // (count)
    count: Int, blockSize: Int
) {
    let blocks = (count + blockSize - 1) / blockSize
    let thresholds = NF4.thresholds
    let tiny: Float = 1e-38
    Parallel.forEachRange(blocks, minimumChunk: max(1, 16384 / blockSize)) { range in
        let t = thresholds.map { FloatVector(repeating: $0) }
        for block in range {
            let start = block * blockSize
            let x = values + start
            guard start + blockSize <= count else {
                // Partial last block: true division by the clamped absmax, which is also stored.
                let length = count - start
                var m: Float = 0
                for i in 0..<length { m = max(m, abs(x[i])) }
                let scale = max(m, tiny)
                absmax[block] = scale
                for i in 0..<length {
                    let q = nf4CodeIndex(x[i] / scale, thresholds)
                    if i % 2 == 0 { packed[(start + i) / 2] = q << 4 } else { packed[(start + i) / 2] |= q }
                }
                if length % 2 == 1 { packed[(start + length) / 2] |= 7 }
                continue
            }
            var mv = FloatVector()
            for i in stride(from: 0, to: blockSize, by: 16) {
                let v = x.loadVector(at: i)
                mv = pointwiseMax(mv, pointwiseMax(v, -v))
            }
            let m = mv.max()
            absmax[block] = m
            let inverse = 1 / max(m, tiny)
            let outBytes = UnsafeMutableRawPointer(packed + start / 2)
            for i in stride(from: 0, to: blockSize, by: 16) {
                let s = x.loadVector(at: i) * inverse
                var q = SIMD16<Int32>()
                for threshold in t { q.replace(with: q &+ 1, where: s .> threshold) }
                let pair = (q.evenHalf &<< 4) | q.oddHalf
                outBytes.storeBytes(of: SIMD8<UInt8>(truncatingIfNeeded: pair), toByteOffset: i / 2, as: SIMD8<UInt8>.self)
            }
        }
    }
}

/// Number of thresholds below x: bitsandbytes' bucketize on the code midpoints (ties low).
@inline(__always)
private func nf4CodeIndex(_ x: Float, _ thresholds: [Float]) -> UInt8 {
    var q: UInt8 = 0
    for t in thresholds where x > t { q += 1 }
    return q
}

/// The comparison tree of the CUDA kernel dQuantizeNF4 (csrc/kernels.cu), walked with the CPU
/// backend's float32 midpoints `t`: the NF4 index of x ∈ [-1, 1], ties to the lower code.
/// (The kernel's own literals, rounded to float directly, are one ulp off the float32 midpoints at
/// t[0], t[8], t[12] and t[14]: CUDA bitsandbytes codes a value lying exactly on one of those four
/// midpoints one step differently. NF4Tests checks this.)
@inline(__always)
private func nf4QuantizeTree(_ x: Float, _ t: UnsafePointer<Float>) -> UInt8 {
    if x > t[7] {                                       // 0.03979014977812767
        if x > t[11] {                                  // 0.3893125355243683
            if x > t[13] {                              // 0.6427869200706482
                return x > t[14] ? 0b1111 : 0b1110     // 0.8614784181118011
            }
            return x > t[12] ? 0b1101 : 0b1100         // 0.5016634166240692
        }
        if x > t[9] {                                   // 0.2035212516784668
            return x > t[10] ? 0b1011 : 0b1010         // 0.2920137718319893
        }
        return x > t[8] ? 0b1001 : 0b1000              // 0.1202552504837513
    }
    if x > t[3] {                                       // -0.33967943489551544
        if x > t[5] {                                   // -0.13791173323988914
            return x > t[6] ? 0b0111 : 0b0110          // -0.045525018125772476
        }
        return x > t[4] ? 0b0101 : 0b0100              // -0.23460740596055984
    }
    if x > t[1] {                                       // -0.6106329262256622
        return x > t[2] ? 0b0011 : 0b0010              // -0.4599952697753906
    }
    return x > t[0] ? 0b0001 : 0b0000                  // -0.8480964004993439
}

/// Scalar reference of NF4 quantisation (bitsandbytes quantize_4bit, quant_type "nf4"), one value at
/// a time through dQuantizeNF4's comparison tree; `NF4Tensor.quantize` must match it bit for bit.
public func nf4QuantizeReference(
    packed: UnsafeMutablePointer<UInt8>,    // ((count + 1) / 2)
    absmax: UnsafeMutablePointer<Float>,    // (ceil(count / blockSize))
    values: UnsafePointer<Float>,           // (count)
    count: Int, blockSize: Int = 64
) {
    let blocks = (count + blockSize - 1) / blockSize
    NF4.thresholds.withUnsafeBufferPointer { thresholds in
        for block in 0..<blocks {
            let start = block * blockSize
            let end = min(start + blockSize, count)
            var m: Float = 0
            for i in start..<end { m = max(m, abs(values[i])) }
            let partial = end - start < blockSize
            let scale = max(m, 1e-38)
            let inverse = 1 / scale
            absmax[block] = partial ? scale : m
            for i in start..<end {
                let q = nf4QuantizeTree(partial ? values[i] / scale : values[i] * inverse, thresholds.baseAddress!)
                if i % 2 == 0 { packed[i / 2] = q << 4 } else { packed[i / 2] |= q }
            }
        }
    }
    if count % 2 == 1 { packed[count / 2] |= 7 }
}

/// Scalar reference of NF4 dequantisation: out[i] = code[nibble i] · absmax[i / blockSize].
public func nf4DequantizeReference(
    out: UnsafeMutablePointer<Float>,       // (count)
    packed: UnsafePointer<UInt8>,           // ((count + 1) / 2)
    absmax: UnsafePointer<Float>,           // (ceil(count / blockSize))
    count: Int, blockSize: Int = 64
) {
    for i in 0..<count {
        let byte = packed[i / 2]
        let index = i % 2 == 0 ? byte >> 4 : byte & 0x0F
        out[i] = NF4.code[Int(index)] * absmax[i / blockSize]
    }
}

/// bitsandbytes' 8-bit blockwise quantisation with the signed dynamic code on CPU
/// (libbitsandbytes_cpu quantize_cpu, x86-64 build): per block absmax = max |x| (an all-zero block
/// stores 0 and codes 0); each x · (1/absmax), clamped to [-1, 1], maps to lookup-table entry
/// trunc(fma((v + 1) · 0.5, 65535, 0.5)) (the compiled fused multiply-add included).
public func dynamicQuantizeBlockwise(
    codes: UnsafeMutablePointer<UInt8>,     // (count)
    absmax: UnsafeMutablePointer<Float>,    // (ceil(count / blockSize))
    values: UnsafePointer<Float>,           // (count)
    count: Int, blockSize: Int = NF4.nestedBlockSize
) {
    let lookup = NF4.dynamicLookup
    let blocks = (count + blockSize - 1) / blockSize
    for block in 0..<blocks {
        let start = block * blockSize
        let end = min(start + blockSize, count)
        var m: Float = 0
        for i in start..<end { m = max(m, abs(values[i])) }
        absmax[block] = m
        guard m != 0 else {
            for i in start..<end { codes[i] = 0 }
            continue
        }
        let inverse = 1 / m
        for i in start..<end {
            let v = min(max(values[i] * inverse, -1), 1)
            let position = Float(0.5).addingProduct((v + 1) * 0.5, 65535)
            let index = position.isNaN ? 0 : Int(UInt16(truncatingIfNeeded: Int32(position)))
            codes[i] = lookup[index]
        }
    }
}

/// out[i] = dynamicCode[codes[i]] · absmax[i / blockSize] (bitsandbytes' dequantize_blockwise).
public func dynamicDequantizeBlockwise(
    out: UnsafeMutablePointer<Float>,       // (count)
    codes: UnsafePointer<UInt8>,            // (count)
    absmax: UnsafePointer<Float>,           // (ceil(count / blockSize))
    count: Int, blockSize: Int = NF4.nestedBlockSize
) {
    let table = NF4.dynamicCode
    for i in 0..<count { out[i] = table[Int(codes[i])] * absmax[i / blockSize] }
}

/// torch's `Tensor.mean()` of a contiguous 1-D float32 CPU tensor, bit for bit: the float32 sum of
/// aten's cascade_sum (8-lane vectors on x86, four interleaved 4-level cascades) divided by the
/// count. Exact for up to 32767 values; beyond that torch splits the sum across its threads.
public func torchMeanFloat32(
    _ values: UnsafePointer<Float>,         // (count)
    count: Int
) -> Float {
    precondition(count > 0)
    return torchCascadeSum(values, count: count) / Float(count)
}

/// aten/src/ATen/native/cpu/SumKernel.cpp: vectorized_inner_sum for count ≥ 8, else the scalar
/// row_sum; float accumulators throughout.
private func torchCascadeSum(_ x: UnsafePointer<Float>, count: Int) -> Float {
    typealias Lanes = SIMD8<Float>
    guard count >= Lanes.scalarCount else { return torchRowSum(count: count) { x[$0] } }
    let vectors = count / Lanes.scalarCount
    let vectorSum: Lanes = torchRowSum(count: vectors) { i in
        UnsafeRawPointer(x + i * Lanes.scalarCount).loadUnaligned(as: Lanes.self)
    }
    var total: Float = 0
    for k in vectors * Lanes.scalarCount..<count { total += x[k] }
    for lane in 0..<Lanes.scalarCount { total += vectorSum[lane] }
    return total
}

private protocol CascadeSummand { static var zero: Self { get }; static func + (a: Self, b: Self) -> Self }
extension Float: CascadeSummand {}
extension SIMD8: CascadeSummand where Scalar == Float {}

/// row_sum: the row as (size / 4, 4) summed by multi_row_sum, the leftover into column 0, then the
/// four columns added in order.
private func torchRowSum<V: CascadeSummand>(count size: Int, _ load: (Int) -> V) -> V {
    let rows = size / 4
    var partial = torchMultiRowSum(rows: rows) { row, column in load(row * 4 + column) }
    for i in rows * 4..<size { partial[0] = partial[0] + load(i) }
    for k in 1..<4 { partial[0] = partial[0] + partial[k] }
    return partial[0]
}

/// multi_row_sum with 4 columns: 4 levels of accumulators, level 0 flushed upwards every
/// 2^levelPower rows.
private func torchMultiRowSum<V: CascadeSummand>(rows size: Int, _ load: (Int, Int) -> V) -> [V] {
    let levels = 4
    let ceilLog2 = size <= 2 ? 1 : Int.bitWidth - (size - 1).leadingZeroBitCount
    let levelPower = max(4, ceilLog2 / levels)
    let levelStep = 1 << levelPower
    let levelMask = levelStep - 1
    var acc = [[V]](repeating: [V](repeating: .zero, count: 4), count: levels)
    var i = 0
    while i + levelStep <= size {
        for _ in 0..<levelStep {
            for k in 0..<4 { acc[0][k] = acc[0][k] + load(i, k) }
            i += 1
        }
        for j in 1..<levels {
            for k in 0..<4 {
                acc[j][k] = acc[j][k] + acc[j - 1][k]
                acc[j - 1][k] = .zero
            }
            if i & (levelMask << (j * levelPower)) != 0 { break }
        }
    }
    while i < size {
        for k in 0..<4 { acc[0][k] = acc[0][k] + load(i, k) }
        i += 1
    }
    for j in 1..<levels {
        for k in 0..<4 { acc[0][k] = acc[0][k] + acc[j][k] }
    }
    return acc[0]
}
