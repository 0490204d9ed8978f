//! Where vite-deploy keeps its own objects under the prefix. A leaf module:
//! the scan refuses files there, the ledger and rollback copies live there.

/// The folder under the prefix that vite-deploy keeps for itself: never
/// uploaded as part of the site, never an orphan.
pub const LEDGER_DIR: &str = ".vite-deploy";
