//! Where objects come from and where their JSON lands. This issue has the local directory
//! store; the S3 store plugs in beside it.

pub mod local;
