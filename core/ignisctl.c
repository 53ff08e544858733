/* core/ignisctl.c — the command-line tool. */
#include <config.h> /* the build's; "config.h" here would be core/config.h */
#include <stdio.h>
int main(void)
{
    puts(PACKAGE_STRING);
    return 0;
}
