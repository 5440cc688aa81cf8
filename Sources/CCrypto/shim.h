#ifndef RECSYNC_CCRYPTO_SHIM_H
#define RECSYNC_CCRYPTO_SHIM_H
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>
#include <openssl/md5.h>
#include <openssl/crypto.h>
#endif
