// esgw-cli: the command-line client of esgw-server (see client/cli/cli.h and --help).
#include "client/cli/cli.h"

int main(int argc, char** argv) { return esgw::cli::CliMain(argc, argv); }
