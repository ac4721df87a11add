// Per-core peak of fp32 FMA against AVX2 int8 multiply-add patterns (llama.cpp's maddubs/madd, and
// maddubs summed in int16), in multiply-adds per second: the integer headroom a 4-bit-block kernel has
// on this CPU (see the issue-12 note). gcc -O3 -mavx2 -mfma -pthread simd_peak.c -o simd_peak
// Inputs live in registers; an empty asm "+x" barrier each iteration makes them opaque to the
// compiler (no hoisting / CSE of loop-invariant products) without emitting any instruction.
#define _GNU_SOURCE
#include <immintrin.h>
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define TOUCH(v) __asm__ volatile("" : "+x"(v))

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

// ---- (a) fp32 FMA: 10 independent 256-bit accumulators, 8 multiply-adds each per iteration
#define FMA_ACC 10
static double k_fma(long iters, double *sink) {
    __m256 acc[FMA_ACC];
    for (int i = 0; i < FMA_ACC; i++) acc[i] = _mm256_set1_ps(0.5f + i * 0.01f);
    __m256 a = _mm256_set1_ps(0.999999f), b = _mm256_set1_ps(1e-6f);
    for (long it = 0; it < iters; it++) {
        TOUCH(a); TOUCH(b);
        for (int i = 0; i < FMA_ACC; i++) acc[i] = _mm256_fmadd_ps(acc[i], a, b);
    }
    float tmp[8]; double s = 0;
    for (int i = 0; i < FMA_ACC; i++) { _mm256_storeu_ps(tmp, acc[i]); for (int j = 0; j < 8; j++) s += tmp[j]; }
    *sink = s;
    return (double)iters * FMA_ACC * 8;  // multiply-adds
}

// ---- (b) maddubs -> madd(ones) -> add_epi32, 32 u8*s8 MACs per maddubs; 4 accumulators (the
// loop-carried dependency is only the 1-cycle add_epi32), 8 maddubs per iteration
static double k_int8_b(long iters, double *sink) {
    __m256i x0 = _mm256_set1_epi8(3), x1 = _mm256_set1_epi8(5), x2 = _mm256_set1_epi8(7), x3 = _mm256_set1_epi8(11);
    __m256i y0 = _mm256_set1_epi8(-2);
    __m256i ones = _mm256_set1_epi16(1);
    __m256i a0 = _mm256_setzero_si256(), a1 = a0, a2 = a0, a3 = a0;
    for (long it = 0; it < iters; it++) {
#define HALF \
        TOUCH(a0); TOUCH(a1); TOUCH(a2); TOUCH(a3); \
        TOUCH(x0); TOUCH(x1); TOUCH(x2); TOUCH(x3); TOUCH(y0); \
        a0 = _mm256_add_epi32(a0, _mm256_madd_epi16(_mm256_maddubs_epi16(x0, y0), ones)); \
        a1 = _mm256_add_epi32(a1, _mm256_madd_epi16(_mm256_maddubs_epi16(x1, y0), ones)); \
        a2 = _mm256_add_epi32(a2, _mm256_madd_epi16(_mm256_maddubs_epi16(x2, y0), ones)); \
        a3 = _mm256_add_epi32(a3, _mm256_madd_epi16(_mm256_maddubs_epi16(x3, y0), ones));
        HALF HALF
#undef HALF
    }
    __m256i t = _mm256_add_epi32(_mm256_add_epi32(a0, a1), _mm256_add_epi32(a2, a3));
    int32_t v[8]; _mm256_storeu_si256((__m256i *)v, t);
    double s = 0; for (int j = 0; j < 8; j++) s += v[j];
    *sink = s;
    return (double)iters * 8 * 32;
}

// ---- (c) 8 maddubs accumulated in int16 (add_epi16), then one madd(ones) + add_epi32; 4 chains
// (int16 sums of 8 maddubs pairs stay in range for 4-bit x 8-bit operands: 8*2*15*127 < 32768)
static double k_int8_c(long iters, double *sink) {
    __m256i x0 = _mm256_set1_epi8(3), x1 = _mm256_set1_epi8(5), x2 = _mm256_set1_epi8(7), x3 = _mm256_set1_epi8(11);
    __m256i y0 = _mm256_set1_epi8(-2);
    __m256i ones = _mm256_set1_epi16(1);
    __m256i a0 = _mm256_setzero_si256(), a1 = a0, a2 = a0, a3 = a0;
    for (long it = 0; it < iters; it++) {
        __m256i s0, s1, s2, s3;
        TOUCH(x0); TOUCH(x1); TOUCH(x2); TOUCH(x3); TOUCH(y0);
        s0 = _mm256_maddubs_epi16(x0, y0); s1 = _mm256_maddubs_epi16(x1, y0);
        s2 = _mm256_maddubs_epi16(x2, y0); s3 = _mm256_maddubs_epi16(x3, y0);
#define STEP \
        TOUCH(s0); TOUCH(s1); TOUCH(s2); TOUCH(s3); \
        TOUCH(x0); TOUCH(x1); TOUCH(x2); TOUCH(x3); TOUCH(y0); \
        s0 = _mm256_add_epi16(s0, _mm256_maddubs_epi16(x0, y0)); s1 = _mm256_add_epi16(s1, _mm256_maddubs_epi16(x1, y0)); \
        s2 = _mm256_add_epi16(s2, _mm256_maddubs_epi16(x2, y0)); s3 = _mm256_add_epi16(s3, _mm256_maddubs_epi16(x3, y0));
        STEP STEP STEP STEP STEP STEP STEP
#undef STEP
        a0 = _mm256_add_epi32(a0, _mm256_madd_epi16(s0, ones));
        a1 = _mm256_add_epi32(a1, _mm256_madd_epi16(s1, ones));
        a2 = _mm256_add_epi32(a2, _mm256_madd_epi16(s2, ones));
        a3 = _mm256_add_epi32(a3, _mm256_madd_epi16(s3, ones));
    }
    __m256i t = _mm256_add_epi32(_mm256_add_epi32(a0, a1), _mm256_add_epi32(a2, a3));
    int32_t v[8]; _mm256_storeu_si256((__m256i *)v, t);
    double s = 0; for (int j = 0; j < 8; j++) s += v[j];
    *sink = s;
    return (double)iters * 4 * 8 * 32;
}

// ---- clock estimate: dependent chain of scalar adds (1/cycle), 8 per iteration
static double k_clock(long iters, double *sink) {
    uint64_t x = 0;
    for (long i = 0; i < iters; i++)
        __asm__ volatile("add $1,%0\n\tadd $1,%0\n\tadd $1,%0\n\tadd $1,%0\n\t"
                         "add $1,%0\n\tadd $1,%0\n\tadd $1,%0\n\tadd $1,%0" : "+r"(x));
    *sink = (double)x;
    return (double)iters * 8;  // cycles
}

typedef double (*kern_t)(long, double *);
typedef struct { kern_t k; long iters; int cpu; double ops, sink, cpu_s; pthread_barrier_t *bar; } job_t;

static double thread_cpu(void) {
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void *worker(void *p) {
    job_t *j = p;
    cpu_set_t set; CPU_ZERO(&set); CPU_SET(j->cpu, &set);
    pthread_setaffinity_np(pthread_self(), sizeof set, &set);
    pthread_barrier_wait(j->bar);
    double c0 = thread_cpu();
    j->ops = j->k(j->iters, &j->sink);
    j->cpu_s = thread_cpu() - c0;
    return NULL;
}

// returns ops/s summed over nthreads, wall clock from a barrier to the last join; *cpu_rate =
// the sum over threads of ops / that thread's own CPU time (robust to other processes' load)
static double run(kern_t k, long iters, int nthreads, double *sink, double *cpu_rate) {
    pthread_t th[2]; job_t jobs[2]; pthread_barrier_t bar;
    pthread_barrier_init(&bar, NULL, nthreads + 1);
    for (int t = 0; t < nthreads; t++) {
        jobs[t] = (job_t){.k = k, .iters = iters, .cpu = t, .bar = &bar};
        pthread_create(&th[t], NULL, worker, &jobs[t]);
    }
    pthread_barrier_wait(&bar);
    double t0 = now();
    double ops = 0; *sink = 0; *cpu_rate = 0;
    for (int t = 0; t < nthreads; t++) {
        pthread_join(th[t], NULL); ops += jobs[t].ops; *sink += jobs[t].sink; *cpu_rate += jobs[t].ops / jobs[t].cpu_s;
    }
    double dt = now() - t0;
    pthread_barrier_destroy(&bar);
    return ops / dt;
}

int main(int argc, char **argv) {
    double target = argc > 1 ? atof(argv[1]) : 1.0;  // seconds per measurement
    int reps = argc > 2 ? atoi(argv[2]) : 3;          // best of reps
    struct { const char *name; kern_t k; } ks[] = {
        {"clock_adds", k_clock}, {"fp32_fma", k_fma}, {"int8_maddubs_madd", k_int8_b}, {"int8_maddubs_x8_i16", k_int8_c}};
    double best[4][3] = {{0}}, bestc[4][3] = {{0}};
    for (int i = 0; i < 4; i++) {
        double sink, t0 = now();
        ks[i].k(2000000, &sink);  // calibrate
        double per = (now() - t0) / 2000000;
        long iters = (long)(target / per);
        for (int nt = 1; nt <= 2; nt++) {
            for (int r = 0; r < reps; r++) {
                double c, v = run(ks[i].k, iters, nt, &sink, &c);
                if (v > best[i][nt]) best[i][nt] = v;
                if (c > bestc[i][nt]) bestc[i][nt] = c;
                printf("# %s threads=%d iters=%ld rep=%d wall_ops/s=%.4g cpu_ops/s=%.4g checksum=%.6g\n", ks[i].name, nt, iters, r, v, c, sink);
            }
        }
    }
    for (int w = 0; w < 2; w++) {
        double (*B)[3] = w ? bestc : best;
        printf("\n== %s (best of %d)\n", w ? "per-thread CPU time basis" : "wall-clock basis", reps);
        printf("%-22s %8s %14s %14s %10s\n", "kernel", "threads", "MAC/s", "MAC/cycle/core", "vs_fp32");
        for (int nt = 1; nt <= 2; nt++) {
            double hz = B[0][nt] / nt;  // dependent adds per second per core = cycles per second
            printf("%-22s %8d %14.4g %14s %10s   (est. clock %.2f GHz/core)\n", "clock_adds", nt, B[0][nt], "-", "-", hz / 1e9);
            for (int i = 1; i < 4; i++)
                printf("%-22s %8d %14.4g %14.2f %10.2f\n", ks[i].name, nt, B[i][nt], B[i][nt] / nt / hz, B[i][nt] / B[1][nt]);
            printf("fp32_fma GFLOP/s (2 flops per MAC), threads=%d: %.1f\n", nt, 2 * B[1][nt] / 1e9);
        }
    }
    return 0;
}
