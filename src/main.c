/*
 * main.c - the tocsin binary's entry point.
 *
 * Everything, the daemon included, is a sub-command of the one table in cli.c;
 * main() only hands over the command line.  It stays this small so unit tests can
 * link every other object without a second main().
 */
#include "cli.h"
#include "banned.h"

int main(int argc, char **argv)
{
	return cli_main(argc, argv);
}
