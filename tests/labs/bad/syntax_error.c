/* Does not compile: evsim lab check must show the compiler's error and exit 2. */
#include "rt.h"

int main(void)
{
    return undeclared_variable;
}
