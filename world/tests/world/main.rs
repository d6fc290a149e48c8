//! Tests of the world through `Service::call` with serialized requests.

mod common;

mod account;
mod auth;
mod channels;
mod contacts;
mod files;
mod messages;
mod robustness;
mod users;
