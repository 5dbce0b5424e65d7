/* The user's key of a keyed pool (docs/pool-format.md, "Keys"): where it
 * comes from and the key-encryption key (KEK) made of it. The user's key
 * is a property of the process (as its environment is): set once from
 * --key-file/--passphrase-file, the STRATA_KEY_FILE/STRATA_PASSPHRASE_FILE
 * variables or a daemon's config, and used by every pool the process
 * opens. It is only ever read from a file. */
#ifndef STRATA_KEK_H
#define STRATA_KEK_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stdint.h>

#include "common/error.h"

/* ---- where the user's key comes from ---- */
void key_source_from_env(void);
void key_source_set_key_file(const char *path);
void key_source_set_passphrase_file(const char *path);
bool key_source_configured(void);
/* The option and file of the configured key ("--key-file", path); false if none. */
bool key_source_file(const char **flag, const char **path);
/* "--key-file /etc/strata/pool.key", for messages. */
const char *key_source_describe(void);

/* A user's key, turned into a KEK. */
typedef struct Kek
{
    uint8_t key[32];
    char id[17];                 /* 16 hex digits: HMAC(KEK, "strata kek id v1"), names it without revealing it */
    json_object *kdf;            /* how it was derived: {"name":"none"} or scrypt's parameters */
} Kek;

void kek_free(Kek *k);
/* From a key file or passphrase file: `kdf` gives scrypt's salt and cost
 * (NULL: a new salt for a passphrase). */
int kek_from_file(const char *key_file, const char *passphrase_file, json_object *kdf, Kek *out, Error *err);

#endif
