/* What the XLOG, storage-manager and database records change beyond their
 * block references (PostgreSQL 15 layouts from the server headers). Main
 * data is copied out with its length checked: never cast in place. */
#include "postgres_fe.h"
#include "access/xlog_internal.h"
#include "access/xlogrecord.h"
#include "catalog/pg_control.h"
#include "catalog/storage_xlog.h"
#include "commands/dbcommands_xlog.h"

#include "wal/index_internal.h"

#define LSNARGS(l) (unsigned) ((l) >> 32), (unsigned) (l)

static int
short_data(const WalRecord *rec, const char *kind, size_t need, Error *err)
{
    return error_set(err, "%s record at %X/%X: %u bytes of main data, at least %zu expected", kind, LSNARGS(rec->lsn),
                     rec->main_len, need);
}

static void
unknown_special(WalIndexBuilder *b, const WalRecord *rec)
{
    WalUnknownRecord *u = wal_builder_unknown(b);
    u->lsn = rec->lsn;
    u->rmid = rec->rmid;
    u->info = rec->info;
    wal_builder_index(b)->flags |= WAL_INDEX_UNKNOWN_SPECIAL;
}

static int
xlog_server_event(WalIndexBuilder *b, const WalRecord *rec, uint8_t what, Error *err)
{
    WalServerEvent e = {.lsn = rec->lsn, .kind = 0, .wal_level = -1};
    if (what == XLOG_PARAMETER_CHANGE)
    {
        xl_parameter_change x;
        if (rec->main_len < sizeof(x))
            return short_data(rec, "parameter change", sizeof(x), err);
        memcpy(&x, rec->main_data, sizeof(x));
        e.kind = WAL_SRV_PARAMETER_CHANGE;
        e.wal_level = x.wal_level;
    }
    else if (what == XLOG_END_OF_RECOVERY)
    {
        xl_end_of_recovery x;
        if (rec->main_len < sizeof(x))
            return short_data(rec, "end-of-recovery", sizeof(x), err);
        memcpy(&x, rec->main_data, sizeof(x));
        e.kind = WAL_SRV_END_OF_RECOVERY;
        e.tli = x.ThisTimeLineID;
        e.prev_tli = x.PrevTimeLineID;
        e.time_us = wal_pg_time_to_unix_us(x.end_time);
    }
    else
    {
        CheckPoint x;
        if (rec->main_len < sizeof(x))
            return short_data(rec, "checkpoint", sizeof(x), err);
        memcpy(&x, rec->main_data, sizeof(x));
        if (what == XLOG_CHECKPOINT_ONLINE && x.ThisTimeLineID == x.PrevTimeLineID)
            return 0;
        e.kind = x.ThisTimeLineID != x.PrevTimeLineID ? WAL_SRV_TIMELINE_CHECKPOINT : WAL_SRV_CHECKPOINT_SHUTDOWN;
        e.tli = x.ThisTimeLineID;
        e.prev_tli = x.PrevTimeLineID;
        e.time_us = (int64_t) x.time * 1000000;
    }
    *wal_builder_server(b) = e;
    return 0;
}

int
wal_rmgr_xlog(WalIndexBuilder *b, const WalRecord *rec, Error *err)
{
    uint8_t what = rec->info & ~XLR_INFO_MASK;
    switch (what)
    {
        case XLOG_RESTORE_POINT:
        {
            xl_restore_point x;
            if (rec->main_len < sizeof(x))
                return short_data(rec, "restore point", sizeof(x), err);
            memcpy(&x, rec->main_data, sizeof(x));
            WalRestorePoint *rp = wal_builder_restore_point(b);
            rp->lsn = rec->lsn;
            rp->end = rec->end;
            rp->time_us = wal_pg_time_to_unix_us(x.rp_time);
            _Static_assert(sizeof(rp->name) == sizeof(x.rp_name), "restore point names");
            memcpy(rp->name, x.rp_name, sizeof(rp->name));
            rp->name[sizeof(rp->name) - 1] = '\0';   /* the server ends it with a NUL within MAXFNAMELEN */
            return 0;
        }
        case XLOG_PARAMETER_CHANGE:
        case XLOG_END_OF_RECOVERY:
        case XLOG_CHECKPOINT_SHUTDOWN:
        case XLOG_CHECKPOINT_ONLINE:
            return xlog_server_event(b, rec, what, err);
        default:
            if (rec->info & XLR_SPECIAL_REL_UPDATE)
                unknown_special(b, rec);
            return 0;
    }
}

int
wal_rmgr_smgr(WalIndexBuilder *b, const WalRecord *rec, Error *err)
{
    uint8_t what = rec->info & ~XLR_INFO_MASK;
    if (what == XLOG_SMGR_CREATE)
    {
        xl_smgr_create x;
        if (rec->main_len < sizeof(x))
            return short_data(rec, "smgr create", sizeof(x), err);
        memcpy(&x, rec->main_data, sizeof(x));
        if (x.forkNum < 0 || x.forkNum > MAX_FORKNUM)
            return error_set(err, "smgr create record at %X/%X names fork %d", LSNARGS(rec->lsn), (int) x.forkNum);
        WalRelEvent *e = wal_builder_rel(b);
        *e = (WalRelEvent){.lsn = rec->lsn, .kind = WAL_REL_CREATE, .fork = (uint8_t) x.forkNum,
                           .rel = {x.rnode.spcNode, x.rnode.dbNode, x.rnode.relNode}, .xid = rec->xid};
        return 0;
    }
    if (what == XLOG_SMGR_TRUNCATE)
    {
        xl_smgr_truncate x;
        if (rec->main_len < sizeof(x))
            return short_data(rec, "smgr truncate", sizeof(x), err);
        memcpy(&x, rec->main_data, sizeof(x));
        WalTruncation *t = wal_builder_truncation(b);
        *t = (WalTruncation){.lsn = rec->lsn, .rel = {x.rnode.spcNode, x.rnode.dbNode, x.rnode.relNode},
                             .blkno = x.blkno, .flags = (uint32_t) x.flags};
        return 0;
    }
    unknown_special(b, rec);   /* an smgr record this PostgreSQL 15 decoder does not know */
    return 0;
}

int
wal_rmgr_dbase(WalIndexBuilder *b, const WalRecord *rec, Error *err)
{
    uint8_t what = rec->info & ~XLR_INFO_MASK;
    if (what == XLOG_DBASE_CREATE_FILE_COPY)
    {
        xl_dbase_create_file_copy_rec x;
        if (rec->main_len < sizeof(x))
            return short_data(rec, "create database (file copy)", sizeof(x), err);
        memcpy(&x, rec->main_data, sizeof(x));
        *wal_builder_db(b) = (WalDbEvent){.lsn = rec->lsn, .kind = WAL_DB_CREATE_FILE_COPY, .db = x.db_id,
                                          .spc = x.tablespace_id, .src_db = x.src_db_id,
                                          .src_spc = x.src_tablespace_id};
        return 0;
    }
    if (what == XLOG_DBASE_CREATE_WAL_LOG)
    {
        xl_dbase_create_wal_log_rec x;
        if (rec->main_len < sizeof(x))
            return short_data(rec, "create database (WAL log)", sizeof(x), err);
        memcpy(&x, rec->main_data, sizeof(x));
        *wal_builder_db(b) = (WalDbEvent){.lsn = rec->lsn, .kind = WAL_DB_CREATE_WAL_LOG, .db = x.db_id,
                                          .spc = x.tablespace_id};
        return 0;
    }
    if (what == XLOG_DBASE_DROP)
    {
        xl_dbase_drop_rec x;
        if (rec->main_len < MinSizeOfDbaseDropRec)
            return short_data(rec, "drop database", MinSizeOfDbaseDropRec, err);
        memcpy(&x, rec->main_data, MinSizeOfDbaseDropRec);
        uint64_t need = MinSizeOfDbaseDropRec + (uint64_t) (x.ntablespaces < 0 ? 0 : x.ntablespaces) * sizeof(Oid);
        if (x.ntablespaces < 1 || need > rec->main_len)
            return error_set(err, "drop database record at %X/%X: %d tablespaces in %u bytes", LSNARGS(rec->lsn),
                             x.ntablespaces, rec->main_len);
        for (int i = 0; i < x.ntablespaces; i++)
        {
            Oid spc;
            memcpy(&spc, rec->main_data + MinSizeOfDbaseDropRec + (size_t) i * sizeof(Oid), sizeof(Oid));
            *wal_builder_db(b) = (WalDbEvent){.lsn = rec->lsn, .kind = WAL_DB_DROP, .db = x.db_id, .spc = spc};
        }
        return 0;
    }
    unknown_special(b, rec);
    return 0;
}
