/*
** sha256.c - SHA-256 as FIPS 180-4 (August 2015) specifies it, for the keys
** of the HTTP cache: a request is known by the digest of its method, URL,
** body and headers and of a per-file salted digest of its credentials, so
** that no secret is ever written to the cache file in clear.
**
**   Sha256 s;
**   unsigned char a[32];
**   sha256_init(&s);
**   sha256_update(&s, "abc", 3);
**   sha256_final(&s, a);      a = ba7816bf 8f01cfea ... f20015ad
**
** Written from the standard alone (no other code copied), with no I/O and
** no allocation; tests/unit.c checks it against the NIST example vectors.
** A digest hides a secret only as well as the secret resists guessing:
** whoever holds the cache file holds its salt too, and can try passwords.
*/
#include <assert.h>
#include <string.h>
#include "apifetch.h"

/* FIPS 180-4 section 4.2.2: the first 32 bits of the fractional parts of
** the cube roots of the first sixty-four primes. */
static const uint32_t aK[64] = {
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
  0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
  0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
  0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
  0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
  0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
  0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
  0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

/* Section 4.1.2's functions.  ROTR is only ever used with 0<n<32, so the
** shift by 32-n is defined. */
#define ROTR(x,n)   (((x)>>(n)) | ((x)<<(32-(n))))
#define CH(x,y,z)   (((x)&(y)) ^ (~(x)&(z)))
#define MAJ(x,y,z)  (((x)&(y)) ^ ((x)&(z)) ^ ((y)&(z)))
#define BSIG0(x)    (ROTR(x,2) ^ ROTR(x,13) ^ ROTR(x,22))
#define BSIG1(x)    (ROTR(x,6) ^ ROTR(x,11) ^ ROTR(x,25))
#define SSIG0(x)    (ROTR(x,7) ^ ROTR(x,18) ^ ((x)>>3))
#define SSIG1(x)    (ROTR(x,17) ^ ROTR(x,19) ^ ((x)>>10))

/* Words are big-endian (section 3.1), whatever the machine's order. */
static uint32_t load32(const unsigned char *p){
  return ((uint32_t)p[0]<<24) | ((uint32_t)p[1]<<16) | ((uint32_t)p[2]<<8) | p[3];
}
static void store32(unsigned char *p, uint32_t x){
  p[0] = (unsigned char)(x>>24);
  p[1] = (unsigned char)(x>>16);
  p[2] = (unsigned char)(x>>8);
  p[3] = (unsigned char)x;
}

/* Section 6.2.2: one 512-bit block into the hash value h. */
static void sha256_block(uint32_t h[8], const unsigned char *pBlock){
  uint32_t w[64];
  uint32_t a, b, c, d, e, f, g, hh, t1, t2;
  int t;
  for(t=0; t<16; t++) w[t] = load32(pBlock + 4*t);
  for(t=16; t<64; t++){
    w[t] = SSIG1(w[t-2]) + w[t-7] + SSIG0(w[t-15]) + w[t-16];
  }
  a = h[0]; b = h[1]; c = h[2]; d = h[3];
  e = h[4]; f = h[5]; g = h[6]; hh = h[7];
  for(t=0; t<64; t++){
    t1 = hh + BSIG1(e) + CH(e,f,g) + aK[t] + w[t];
    t2 = BSIG0(a) + MAJ(a,b,c);
    hh = g; g = f; f = e; e = d + t1;
    d = c; c = b; b = a; a = t1 + t2;
  }
  h[0] += a; h[1] += b; h[2] += c; h[3] += d;
  h[4] += e; h[5] += f; h[6] += g; h[7] += hh;
}

/* Zero memory that held a secret in a way the compiler may not drop as a
** dead store: credentials pass through the buffer on their way to a key. */
static void sha256_wipe(void *p, size_t n){
  volatile unsigned char *z = (volatile unsigned char*)p;
  while( n-- ) *z++ = 0;
}

void sha256_init(Sha256 *p){
  /* Section 5.3.3: the first 32 bits of the fractional parts of the square
  ** roots of the first eight primes. */
  static const uint32_t aH0[8] = {
    0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
    0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
  };
  memcpy(p->h, aH0, sizeof(aH0));
  p->nBytes = 0;
  p->nBuf = 0;
}

void sha256_update(Sha256 *p, const void *pData, size_t n){
  const unsigned char *z = (const unsigned char*)pData;
  assert( p->nBuf<64 );
  if( n==0 ) return;              /* pData may then be NULL */
  p->nBytes += n;
  if( p->nBuf>0 ){
    size_t k = 64 - p->nBuf;
    if( k>n ) k = n;
    memcpy(p->buf + p->nBuf, z, k);
    p->nBuf += k;
    z += k;
    n -= k;
    if( p->nBuf<64 ) return;
    sha256_block(p->h, p->buf);
    p->nBuf = 0;
  }
  while( n>=64 ){
    sha256_block(p->h, z);
    z += 64;
    n -= 64;
  }
  if( n>0 ){
    memcpy(p->buf, z, n);
    p->nBuf = n;
  }
}

void sha256_final(Sha256 *p, unsigned char aOut[SHA256_SIZE]){
  /* Section 5.1.1: a 1 bit, zeros, and the length in bits as a 64-bit
  ** big-endian number, to a multiple of 512 bits.  The length is taken
  ** modulo 2^64, as it can only be for messages under 2^61 bytes anyway. */
  uint64_t nBits = p->nBytes * 8;
  int i;
  assert( p->nBuf<64 );
  p->buf[p->nBuf++] = 0x80;
  if( p->nBuf>56 ){
    memset(p->buf + p->nBuf, 0, 64 - p->nBuf);
    sha256_block(p->h, p->buf);
    p->nBuf = 0;
  }
  memset(p->buf + p->nBuf, 0, 56 - p->nBuf);
  store32(p->buf + 56, (uint32_t)(nBits>>32));
  store32(p->buf + 60, (uint32_t)nBits);
  sha256_block(p->h, p->buf);
  for(i=0; i<8; i++) store32(aOut + 4*i, p->h[i]);
  /* Nothing of the message stays behind; p must be initialised again
  ** before it is used for another digest. */
  sha256_wipe(p, sizeof(*p));
}
