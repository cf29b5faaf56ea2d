/*
** fuzz.h - shared by the libFuzzer targets tests/fuzz_*.c: reading every
** byte the code under test produced, so that a sanitizer sees any bad read,
** without the compiler dropping the reads.
*/
#ifndef APIFETCH_FUZZ_H
#define APIFETCH_FUZZ_H
#include <stddef.h>

static volatile unsigned long long gSink;

static void touch(const char *z, size_t n){
  unsigned long long s = 0;
  size_t i;
  for(i=0; i<n; i++) s += (unsigned char)z[i];
  gSink += s;
}

#endif
