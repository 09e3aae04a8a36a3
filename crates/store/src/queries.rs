// What every query file shares: the imports, the connection type and `sqlf!`. lib.rs includes this
// file first, then one `<feature>_queries.rs` per table group (beside its `<feature>_records.rs`),
// twice: once with `Db = Sqlite` and once with `Db = Postgres`, so each query is written once and
// compiled against a concrete driver (no `Any` driver). Where the dialects differ the code branches
// on `DIALECT`, with a comment saying why.

use sqlx::{QueryBuilder, Row};
use switchboard_domain::*;

use crate::records::*;
use crate::{Dialect, StoreError};

type Conn = <Db as sqlx::Database>::Connection;

/// Formats a statement from the query files' own constants (column lists, the LIKE operator); never
/// from input, which always goes through bind parameters.
macro_rules! sqlf {
    ($($t:tt)*) => { sqlx::AssertSqlSafe(format!($($t)*)) };
}
type Result<T> = std::result::Result<T, StoreError>;
