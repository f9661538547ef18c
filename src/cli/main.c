/* The siteinvites binary: dispatches to the server and the admin commands. */
#include "cli/cli.h"

int main(int argc, char **argv)
{
    return cli_main(argc, argv);
}
