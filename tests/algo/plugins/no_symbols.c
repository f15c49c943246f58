/* Test library that is no tuner plugin: it exports none of the symbols the loader looks for. */
#define EXPORT __attribute__((visibility("default")))

EXPORT int tuttiTestNotATuner(void) { return 1; }
