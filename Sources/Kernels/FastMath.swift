/// Vectorised `exp` and `erf` for the element-wise kernels.
///
/// Scalar `expf`/`erff` from libm cost more than the matmuls around them at this model size, so
/// GELU and softmax use these 16-lane versions; `FastMathTests` bounds their error against libm.
public typealias FloatVector = SIMD16<Float>

public enum FastMath {
    private static let roundingMagic = FloatVector(repeating: 12_582_912) // 1.5 · 2²³

    /// e^x for each lane, relative error below 2e-7 on [-87, 88]; inputs below -87 give 0.
    @inline(__always)
    public static func exp(_ x: FloatVector) -> FloatVector {
        let log2e: Float = 1.442_695_04
        let ln2High: Float = 0.693_145_752
        let ln2Low: Float = 1.428_606_82e-6
        let clamped = pointwiseMin(pointwiseMax(x, FloatVector(repeating: -87.0)), FloatVector(repeating: 88.0))
        // Round to nearest by adding and subtracting 1.5·2²³ (the generic SIMD rounding and
        // conversions are not vectorised); the sum's low mantissa bits then hold n as an integer.
        let shifted = clamped * log2e + roundingMagic
        let n = shifted - roundingMagic
        // r in [-ln2/2, ln2/2]: Taylor to degree 7 leaves a truncation error under 1e-8.
        var r = clamped - n * ln2High
        r = r - n * ln2Low
        var p = FloatVector(repeating: 1.0 / 5040.0)
        p = FloatVector(repeating: 1.0 / 720.0).addingProduct(p, r)
        p = FloatVector(repeating: 1.0 / 120.0).addingProduct(p, r)
        p = FloatVector(repeating: 1.0 / 24.0).addingProduct(p, r)
        p = FloatVector(repeating: 1.0 / 6.0).addingProduct(p, r)
        p = FloatVector(repeating: 0.5).addingProduct(p, r)
        p = FloatVector(repeating: 1.0).addingProduct(p, r)
        p = FloatVector(repeating: 1.0).addingProduct(p, r)
        // Scale by 2^n through the exponent bits.
        let integerN = unsafeBitCast(shifted, to: SIMD16<Int32>.self) &- unsafeBitCast(roundingMagic, to: SIMD16<Int32>.self)
        let exponent = (integerN &+ 127) &<< 23
        let scale = unsafeBitCast(exponent, to: FloatVector.self)
        var result = p * scale
        result.replace(with: 0, where: x .< -87.0)
        return result
    }

    /// erf(x) for each lane as a rational approximation on [-4, 4] (|erf| rounds to 1 beyond),
    /// absolute error about 1e-7.
    @inline(__always)
    public static func erf(_ input: FloatVector) -> FloatVector {
        let x = pointwiseMin(pointwiseMax(input, FloatVector(repeating: -4.0)), FloatVector(repeating: 4.0))
        let x2 = x * x
        var p = FloatVector(repeating: -2.726_142_258_013_06e-10)
        p = FloatVector(repeating: 2.770_681_424_959_02e-08).addingProduct(p, x2)
        p = FloatVector(repeating: -2.101_024_020_825_08e-06).addingProduct(p, x2)
        p = FloatVector(repeating: -5.692_506_394_623_46e-05).addingProduct(p, x2)
        p = FloatVector(repeating: -7.349_906_303_268_55e-04).addingProduct(p, x2)
        p = FloatVector(repeating: -2.954_599_808_540_25e-03).addingProduct(p, x2)
        p = FloatVector(repeating: -1.609_603_332_624_15e-02).addingProduct(p, x2)
        p = p * x
        var q = FloatVector(repeating: -1.456_607_184_649_96e-05)
        q = FloatVector(repeating: -2.133_740_552_789_05e-04).addingProduct(q, x2)
        q = FloatVector(repeating: -1.682_826_974_382_03e-03).addingProduct(q, x2)
        q = FloatVector(repeating: -7.373_329_167_204_68e-03).addingProduct(q, x2)
        q = FloatVector(repeating: -1.426_473_905_141_89e-02).addingProduct(q, x2)
        return p / q
    }
}

/// Sum of the 16 lanes by halving (the standard library's generic `sum()` is a lane-by-lane loop
/// that is not inlined into the kernels).
@inline(__always)
public func horizontalSum(_ v: FloatVector) -> Float {
    let eight = v.lowHalf + v.highHalf
    let four = eight.lowHalf + eight.highHalf
    let two = four.lowHalf + four.highHalf
    return two[0] + two[1]
}

extension UnsafeMutablePointer where Pointee == Float {
    @inline(__always) func loadVector(at offset: Int) -> FloatVector {
        UnsafeRawPointer(self + offset).loadUnaligned(as: FloatVector.self)
    }
    /// Unaligned store: arena tensors start at arbitrary float offsets.
    @inline(__always) func storeVector(_ value: FloatVector, at offset: Int) {
        withUnsafeBytes(of: value) {
            UnsafeMutableRawPointer(self + offset).copyMemory(from: $0.baseAddress!, byteCount: MemoryLayout<FloatVector>.size)
        }
    }
}

extension UnsafePointer where Pointee == Float {
    @inline(__always) func loadVector(at offset: Int) -> FloatVector {
        UnsafeRawPointer(self + offset).loadUnaligned(as: FloatVector.self)
    }
}
