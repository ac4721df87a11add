// GFLOP/s of SmolLM2-135M's training GEMMs (N = 1024 rows = batch 8 x seq 128, d 576, kv 192, F 1536),
// each split over 2 workers calling single-threaded OpenBLAS as evalharness's kernels do (argument 1),
// or one call with OpenBLAS's own 2 threads (argument 0), against the 2048^3 ceiling measured first.
// Also the fused shapes (q|k|v 960 x 576, gate|up 3072 x 576) a fusion would make. Warm caches: the
// upper bound of what the shapes allow. gcc -O2 -pthread gemm_shapes.c -o gemm_shapes -lopenblas
#define _GNU_SOURCE
#include <cblas.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
extern void openblas_set_num_threads(int);
static double now(void){struct timespec t;clock_gettime(CLOCK_MONOTONIC,&t);return t.tv_sec+t.tv_nsec*1e-9;}
typedef struct {int ta,tb,M,N,K,lda,ldb,ldc; float*A,*B,*C;} job;
static void* run(void*p){job*j=p;cblas_sgemm(CblasRowMajor,j->ta?CblasTrans:CblasNoTrans,j->tb?CblasTrans:CblasNoTrans,j->M,j->N,j->K,1,j->A,j->lda,j->B,j->ldb,1,j->C,j->ldc);return 0;}
static float*buf(long n){float*p=aligned_alloc(64,((n*4+63)/64)*64);for(long i=0;i<n;i++)p[i]=(float)(i%17)*0.01f;return p;}
// kind 0: forward out(N,OC)=inp(N,IC) W(OC,IC)^T split rows; 1: dinp(N,IC)=dout(N,OC) W(OC,IC) split rows;
// 2: dW(OC,IC)=dout(N,OC)^T inp(N,IC) split OC.
static double bench(int kind,int N,int OC,int IC,int split){
  float*X=buf((long)N*(IC>OC?IC:OC)),*W=buf((long)OC*IC),*Y=buf((long)N*(IC>OC?IC:OC)),*G=buf((long)OC*IC);
  double flops=2.0*N*OC*IC; int reps=0; double t0=now(),t;
  do{ pthread_t th[2]; job j[2];
    for(int w=0;w<2;w++){int lo,hi;
      if(kind==2){lo=OC*w/2;hi=OC*(w+1)/2; j[w]=(job){1,0,hi-lo,IC,N,OC,IC,IC,Y+lo,X,G+(long)lo*IC};}
      else if(kind==0){lo=N*w/2;hi=N*(w+1)/2; j[w]=(job){0,1,hi-lo,OC,IC,IC,IC,OC,X+(long)lo*IC,W,Y+(long)lo*OC};}
      else {lo=N*w/2;hi=N*(w+1)/2; j[w]=(job){0,0,hi-lo,IC,OC,OC,IC,IC,Y+(long)lo*OC,W,X+(long)lo*IC};}
    }
    if(split){for(int w=0;w<2;w++)pthread_create(&th[w],0,run,&j[w]);for(int w=0;w<2;w++)pthread_join(th[w],0);}
    else { job a=j[0]; if(kind==2){a.M=OC;} else a.M=N; run(&a);} 
    reps++; t=now()-t0;}while(t<0.4);
  free(X);free(W);free(Y);free(G);return flops*reps/t/1e9;}
int main(int argc,char**argv){
  int split=argc>1?atoi(argv[1]):1; openblas_set_num_threads(split?1:2);
  double ceil_=0; {int n=2048; float*A=buf((long)n*n),*B=buf((long)n*n),*C=buf((long)n*n); openblas_set_num_threads(2);
    double t0=now();int r=0;do{cblas_sgemm(CblasRowMajor,CblasNoTrans,CblasNoTrans,n,n,n,1,A,n,B,n,0,C,n);r++;}while(now()-t0<1.5);
    ceil_=2.0*n*n*n*r/(now()-t0)/1e9; openblas_set_num_threads(split?1:2);}
  printf("ceiling 2048^3 (OpenBLAS 2 threads): %.1f GFLOP/s  mode=%s\n",ceil_,split?"2 workers x 1-thread sgemm":"OpenBLAS 2 threads");
  struct{const char*n;int k,OC,IC;}s[]={
   {"fwd q/o 576x576",0,576,576},{"fwd k/v 192x576",0,192,576},{"fwd qkv fused 960x576",0,960,576},
   {"fwd gate/up 1536x576",0,1536,576},{"fwd gate+up fused 3072x576",0,3072,576},{"fwd down 576x1536",0,576,1536},
   {"dX q/o",1,576,576},{"dX k/v",1,192,576},{"dX qkv fused",1,960,576},{"dX gate/up",1,1536,576},{"dX gate+up fused",1,3072,576},{"dX down",1,576,1536},
   {"dW q/o",2,576,576},{"dW k/v",2,192,576},{"dW qkv fused",2,960,576},{"dW gate/up",2,1536,576},{"dW gate+up fused",2,3072,576},{"dW down",2,576,1536},
   {"head-ish 4096x576 fwd",0,4096,576}};
  for(unsigned i=0;i<sizeof s/sizeof*s;i++){double g=bench(s[i].k,1024,s[i].OC,s[i].IC,split);printf("%-28s %6.1f GFLOP/s  %4.0f%%\n",s[i].n,g,100*g/ceil_);}
}
