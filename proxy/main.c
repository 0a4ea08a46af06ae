/* moatd entry point: written next (see proxy/local.mk). */
int main(void) { return 0; }
