/* The key hierarchy of an encrypted, authenticated pool
 * (docs/pool-format.md, "Keys"):
 *
 *   user's key (a key file, or a passphrase through scrypt with the salt
 *   and cost stored in the pool): the key-encryption key (KEK); never in
 *   the pool, never on a command line.
 *     wraps (AES-256-GCM, the key object's pool path as associated data):
 *       keys/pool.key                         the pool's authentication key:
 *                                             HMAC-SHA256 seals of manifests and
 *                                             descriptors, WAL object names
 *       nodes/<node>/backups/<id>/backup.key  one random data key per backup
 *       nodes/<node>/wal/keys/<id>.key        the node's WAL data key(s)
 *
 * Key rotation (rotate.c) re-wraps these objects under a new KEK; no data
 * object changes. The user's key and its KEK: crypto/kek.h; key objects:
 * crypto/key_objects.h. */
#ifndef STRATA_POOL_KEYS_H
#define STRATA_POOL_KEYS_H

#include <json-c/json.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "crypto/kek.h"
#include "pipeline/encrypt.h"
#include "pool/pool.h"

#define POOL_KEY_PATH "keys/pool.key"
#define POOL_ROTATION_PATH "keys/rotation.json"

/* A data key and its id, as the encrypted objects' headers name it. */
typedef struct DataKey
{
    uint8_t id[STREAM_KEY_ID_LEN];
    uint8_t key[STREAM_KEY_LEN];
} DataKey;

struct PoolKeys
{
    Kek kek;
    uint8_t seal_key[32];        /* HMAC key of sealed JSON */
    uint8_t wal_name_key[32];    /* HMAC key of WAL object names */
    pthread_mutex_t lock;        /* the WAL key cache */
    DataKey *wal_keys;
    size_t nwal_keys;
    char *wal_keys_node;
};

/* An error saying how to give the key unless p has its keys. */
int pool_keys_needed(Pool *p, const char *what, Error *err);

/* Called by pool_open: loads the pool's keys if the process has a user's
 * key (an error if the pool has none or another one); p->keyed tells
 * whether the pool has keys at all. */
int pool_keys_open(Pool *p, Error *err);
void pool_keys_free(PoolKeys *k);
/* Makes a new pool keyed (pool-init with a key): keys/pool.key. */
int pool_keys_init(Storage *s, const char *location, Error *err);

/* For commands that use what a keyed pool holds (restore, expire): its
 * key, or an error saying how to give it. Any pool without keys passes. */
int pool_require_key(Pool *p, const char *what, Error *err);

/* The cipher a writer uses: `asked` if given (aes-256-gcm needs a keyed
 * pool), else aes-256-gcm in a keyed pool and none otherwise. Writing to a
 * keyed pool needs its key either way. */
int pool_write_cipher(Pool *p, bool given, Cipher asked, Cipher *out, Error *err);

/* A new random data key wrapped at `path`; a backup's, at its start. */
int data_key_create(Pool *p, const char *path, DataKey *out, Error *err);
/* *missing set when there is none. */
int data_key_load(Pool *p, const char *path, DataKey *out, bool *missing, Error *err);
char *backup_key_path(const char *node, const char *id);
/* A backup's data key; a missing one is an error naming the backup. */
int backup_key_load(Pool *p, const char *node, const char *id, DataKey *out, Error *err);
/* How a backup's data object is read back: the head is a SHA-256 stage
 * over the stored bytes (stage_hash_result), then the decryption (when
 * `cipher`), then the decompression, then `next`. `key` is the object's
 * pool key, kept (not copied) for messages. */
Stage *backup_object_reader(Compression c, Cipher cipher, const DataKey *dk, const char *key, Stage *next);

/* The node's WAL data key to encrypt with (made on first use). */
int wal_key_current(Pool *p, const char *node, DataKey *out, Error *err);
/* StreamKeyLookup for a node's WAL objects: arg is a WalKeyLookup. */
typedef struct WalKeyLookup
{
    Pool *pool;
    const char *node;
} WalKeyLookup;
int wal_key_lookup(void *arg, const uint8_t id[STREAM_KEY_ID_LEN], uint8_t key[STREAM_KEY_LEN], Error *err);
/* StreamKeyLookup for one known key: arg is a const DataKey *. */
int data_key_lookup(void *arg, const uint8_t id[STREAM_KEY_ID_LEN], uint8_t key[STREAM_KEY_LEN], Error *err);

/* A small object of a node's WAL (a WAL index file) in a keyed pool:
 * encrypted with the node's WAL key, bound to its path (STREAM), so it is
 * neither readable nor forgeable without the key. */
int wal_blob_seal(Pool *p, const char *node, const char *path, const void *data, size_t len, Buffer *out, Error *err);
int wal_blob_open(Pool *p, const char *node, const char *path, const void *data, size_t len, Buffer *out, Error *err);

/* HMAC-SHA256 of a WAL file's content, hex: its object name when keyed. */
void wal_content_mac(const PoolKeys *k, const char *walname, const void *data, size_t len, char hex[65]);

/* Re-wraps every key object of the pool under the new user's key (one of
 * the two files), the pool key last. Rerun after an interruption with the
 * same keys, it finishes the job (a new passphrase keeps the salt the
 * interrupted run recorded). */
int pool_keys_rotate(Pool *p, const char *new_key_file, const char *new_passphrase_file, size_t *rewrapped,
                     char new_id[17], Error *err);

#endif
