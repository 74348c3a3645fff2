// esper — the command line. All logic is in the esper_cli library, which the tests link too.
#include "cli.h"

int main(int argc, char** argv) { return esper::cli::Main(argc, argv); }
