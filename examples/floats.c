/* floats: f64 and f32 arithmetic through libm and printf: the digits printed must be exact. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

int main(void) {
    double x = 2.0;
    printf("sqrt(2)=%.17g\n", sqrt(x));
    printf("exp(1)=%.17g\n", exp(1.0));
    printf("log(10)=%.17g\n", log(10.0));
    printf("sin(1)=%.17g cos(1)=%.17g\n", sin(1.0), cos(1.0));
    printf("atan2(1,3)=%.17g\n", atan2(1.0, 3.0));
    printf("pow(1.5,20.25)=%.17g\n", pow(1.5, 20.25));
    printf("1/3=%.20f\n", 1.0 / 3.0);
    printf("tiny=%g huge=%e\n", 4.9e-324, 1.7976931348623157e308);
    printf("float 1/3=%.9g sqrtf(3)=%.9g\n", 1.0f / 3.0f, sqrtf(3.0f));
    printf("2^24+1 as float=%.1f as double=%.1f\n", (float)16777217.0, 16777217.0);
    printf("strtod(\"0.1\")*3=%.17g\n", strtod("0.1", NULL) * 3);
    printf("rint(2.5)=%g floor(-1.5)=%g trunc(-1.5)=%g\n", rint(2.5), floor(-1.5), trunc(-1.5));
    printf("nan=%f inf=%f -0=%g\n", NAN, INFINITY, -0.0);
    double pi = 0;
    for (int k = 0; k < 2000; k++)
        pi += (k % 2 ? -4.0 : 4.0) / (2 * k + 1);
    printf("leibniz(2000)=%.15f\n", pi);
    double fx = 0.5;
    for (int i = 0; i < 100; i++)
        fx = 3.7 * fx * (1 - fx);
    printf("logistic(100)=%.17g\n", fx);
    printf("(long long)1e18=%lld (int)-2.9=%d\n", (long long)1e18, (int)-2.9);
    return 0;
}
