// Compiled by the layers test with one layer's include view: including a header of a layer above
// (TUTTI_PROBE_HEADER) must fail, and a header of the layer itself or below must compile.
#include TUTTI_PROBE_HEADER

int main() { return 0; }
