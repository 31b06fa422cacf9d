//! The two wire protocols: awsJson1.1 (FSx) and the EC2 query protocol (form in, XML out).

pub(crate) mod form;
pub(crate) mod json;
pub(crate) mod xml;
