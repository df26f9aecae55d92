//! Events between apps. An app publishes on its own topics, those its
//! manifest lists under `data.events.publish`, and receives the events of
//! the topics it subscribes to through the handler it registers with
//! [`App::on_event`](crate::App::on_event). The platform publishes events
//! too, with source `"platform"` and JSON data.

use crate::abi::MAX_TOPIC_LEN;
use crate::error::{Error, ErrorKind};
use crate::host;
use crate::runtime::check;

/// One event the app subscribed to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Event {
    /// The app that published the event, or `"platform"`.
    pub source: String,
    /// The topic it was published on.
    pub topic: String,
    /// The event's bytes, JSON for platform events.
    pub data: Vec<u8>,
}

/// Publishes `data` on `topic`, one of the app's own topics. Subscribers
/// receive it as an [`Event`] whose source is this app. It answers
/// `Denied` unless the manifest lists `topic` under
/// `data.events.publish`, and `Limit` for data over the payload limit.
///
/// ```
/// let r = gocluster::publish("signed-up", b"ann@example.com");
/// # assert!(r.is_err());
/// ```
pub fn publish(topic: &str, data: &[u8]) -> Result<(), Error> {
    if topic.is_empty() || topic.len() > MAX_TOPIC_LEN {
        return Err(Error::new(ErrorKind::Invalid, "topic must be 1 to 64 bytes"));
    }
    // SAFETY: the host reads topic and data.
    check(unsafe { host::gc_event_publish(topic.as_ptr(), topic.len(), data.as_ptr(), data.len()) })
}
