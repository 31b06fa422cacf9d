//! The two wire protocols: awsJson1.1 (FSx) and the EC2 query protocol (form in, XML out).

pub mod form;
pub mod json;
pub mod xml;
