//! One event as an AMQP message: properties and the `channel`/`site_id`/`timestamp`/`ssl`
//! headers, exactly as the official tool sets them (docs/kompira-protocol.md §3).

use chrono::{NaiveDateTime, Timelike};
use lapin::types::{AMQPValue, FieldTable, LongString, ShortString};
use lapin::BasicProperties;

use super::body::EventBody;

/// The queue the Kompira server consumes; events go to it through the default exchange.
pub const IO_QUEUE: &str = "io_queue";

/// Persistent delivery, so an event survives a broker restart.
const DELIVERY_MODE_PERSISTENT: u8 = 2;

/// What the user wants sent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Event {
    /// The body (KEY=VAL fields or stdin bytes).
    pub body: EventBody,
    /// Kompira channel path the server appends the event to, e.g. `/system/channels/Alert`.
    pub channel: String,
    /// `[kompira] site_id`.
    pub site_id: i64,
}

/// The per-send values that are not part of the event itself.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Stamp {
    /// uuid4, lower-case: the id a user can quote to find the event later.
    pub correlation_id: String,
    /// Another uuid4, as the reference's client library adds.
    pub message_id: String,
    /// Local wall time for the `timestamp` header.
    pub local_time: NaiveDateTime,
    /// Seconds since the epoch (UTC) for the `timestamp` property.
    pub unix_seconds: u64,
}

impl Stamp {
    /// Fresh ids and the current time.
    pub fn now() -> Self {
        let now = chrono::Local::now();
        Self {
            correlation_id: uuid::Uuid::new_v4().to_string(),
            message_id: uuid::Uuid::new_v4().to_string(),
            local_time: now.naive_local(),
            unix_seconds: u64::try_from(now.timestamp()).unwrap_or(0),
        }
    }
}

/// `str(datetime.now())` as the reference formats it, always with microseconds.
pub fn header_timestamp(local_time: &NaiveDateTime) -> String {
    wall_clock_text(local_time, ' ', 6)
}

/// `YYYY-MM-DD<separator>HH:MM:SS.<fraction_digits>`, as chrono's `%Y-%m-%d %H:%M:%S%.6f` would
/// write it (a leap second reads :60). By hand because chrono parses its format string again
/// on every call, and this runs for every event queued and every event sent.
pub(crate) fn wall_clock_text(local_time: &NaiveDateTime, separator: char, fraction_digits: u32) -> String {
    let digits = fraction_digits.min(9);
    let nanos = local_time.nanosecond();
    let second = local_time.second() + u32::from(nanos >= 1_000_000_000);
    let fraction = (nanos % 1_000_000_000) / 10u32.pow(9 - digits);
    format!(
        "{}{separator}{:02}:{:02}:{second:02}.{fraction:0width$}",
        local_time.date(),
        local_time.hour(),
        local_time.minute(),
        width = digits as usize
    )
}

/// The `site_id` header: the integer type the reference's client library (pamqp) picks,
/// except where that type is read differently by different AMQP libraries.
///
/// pamqp sends 0–255 as `b` with an unsigned byte, and the rest of -32768–32767 as `s`. `b` is
/// a signed byte in AMQP 0-9-1 as RabbitMQ specifies it (lapin reads 200 back as -56), while
/// pamqp and py-amqp read it unsigned; py-amqp, the library of the Kompira 1.6 server, reads
/// `s` as a short *string*: a reference event with site id -1 cannot be decoded there at all
/// (the header table fails as UTF-8), one with 300 arrives as `","`. `I` (signed 32-bit) reads
/// alike in all of them, so it carries those values. 0–127 keep the reference's `b`, byte for
/// byte; 32768–65535 (`u`), the rest of the 32-bit range (`I`), 2^31–2^32-1 (`i`) and beyond
/// (`l`) are the reference's types as well.
pub fn site_id_value(value: i64) -> AMQPValue {
    if let Ok(v @ 0..=127) = i8::try_from(value) {
        AMQPValue::ShortShortInt(v)
    } else if let Ok(v @ 32_768..) = u16::try_from(value) {
        AMQPValue::ShortUInt(v)
    } else if let Ok(v) = i32::try_from(value) {
        AMQPValue::LongInt(v)
    } else if let Ok(v) = u32::try_from(value) {
        AMQPValue::LongUInt(v)
    } else {
        AMQPValue::LongLongInt(value)
    }
}

/// The application headers. `tls_version` is `Some("TLSv1.3")` on TLS, else the header is void.
pub fn headers(event: &Event, local_time: &NaiveDateTime, tls_version: Option<&str>) -> FieldTable {
    headers_for(&event.channel, event.site_id, local_time, tls_version)
}

fn headers_for(channel: &str, site_id: i64, local_time: &NaiveDateTime, tls_version: Option<&str>) -> FieldTable {
    let mut table = FieldTable::default();
    table.insert("channel".into(), AMQPValue::LongString(LongString::from(channel)));
    table.insert("site_id".into(), site_id_value(site_id));
    table.insert("timestamp".into(), AMQPValue::LongString(LongString::from(header_timestamp(local_time))));
    table.insert("ssl".into(), tls_version.map_or(AMQPValue::Void, |v| AMQPValue::LongString(LongString::from(v))));
    table
}

/// The message properties for one send.
pub fn properties(event: &Event, stamp: &Stamp, tls_version: Option<&str>) -> BasicProperties {
    properties_for(&event.channel, event.site_id, event.body.content_type(), stamp, tls_version)
}

fn properties_for(
    channel: &str,
    site_id: i64,
    content_type: Option<&str>,
    stamp: &Stamp,
    tls_version: Option<&str>,
) -> BasicProperties {
    let mut props = BasicProperties::default()
        .with_delivery_mode(DELIVERY_MODE_PERSISTENT)
        .with_correlation_id(ShortString::from(stamp.correlation_id.as_str()))
        .with_content_encoding("utf-8".into())
        .with_message_id(ShortString::from(stamp.message_id.as_str()))
        .with_timestamp(stamp.unix_seconds)
        .with_headers(headers_for(channel, site_id, &stamp.local_time, tls_version));
    if let Some(content_type) = content_type {
        props = props.with_content_type(content_type.into());
    }
    props
}

/// An event fixed for sending: wire body, content type, channel, site id and stamp. Kept in
/// the outbox and rebuilt from it, so every retry sends the same bytes under the same
/// correlation id. Only the `ssl` header depends on the connection that carries it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Envelope {
    /// The body exactly as it goes on the wire.
    pub body: Vec<u8>,
    /// `application/json` for KEY=VAL bodies, `None` for raw ones.
    pub content_type: Option<String>,
    /// Target Kompira channel.
    pub channel: String,
    /// `[kompira] site_id`.
    pub site_id: i64,
    /// Correlation and message ids and the times, fixed when the envelope is made.
    pub stamp: Stamp,
}

impl Envelope {
    /// Fixes `event` with `stamp`.
    pub fn new(event: &Event, stamp: Stamp) -> Self {
        Self {
            body: event.body.to_wire(),
            content_type: event.body.content_type().map(str::to_owned),
            channel: event.channel.clone(),
            site_id: event.site_id,
            stamp,
        }
    }

    /// The message properties for a send over a connection with `tls_version`.
    pub fn properties(&self, tls_version: Option<&str>) -> BasicProperties {
        properties_for(&self.channel, self.site_id, self.content_type.as_deref(), &self.stamp, tls_version)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    fn event(body: EventBody) -> Event {
        Event { body, channel: "/system/channels/Alert".into(), site_id: 1 }
    }

    fn stamp() -> Stamp {
        Stamp {
            correlation_id: "c0ffee00-0000-4000-8000-000000000001".into(),
            message_id: "c0ffee00-0000-4000-8000-000000000002".into(),
            local_time: NaiveDate::from_ymd_opt(2026, 11, 22).unwrap().and_hms_micro_opt(8, 7, 42, 9).unwrap(),
            unix_seconds: 1_795_000_000,
        }
    }

    #[test]
    fn timestamp_header_always_has_microseconds() {
        assert_eq!(header_timestamp(&stamp().local_time), "2026-11-22 08:07:42.000009");
        let whole = NaiveDate::from_ymd_opt(2026, 1, 2).unwrap().and_hms_opt(3, 4, 5).unwrap();
        assert_eq!(header_timestamp(&whole), "2026-01-02 03:04:05.000000");
    }

    #[test]
    fn the_hand_written_clock_text_matches_chronos_formatting() {
        let day = NaiveDate::from_ymd_opt(2026, 12, 31).unwrap();
        let times = [
            day.and_hms_nano_opt(0, 0, 0, 0).unwrap(),
            day.and_hms_nano_opt(23, 59, 59, 999_999_999).unwrap(),
            day.and_hms_nano_opt(9, 8, 7, 1_000).unwrap(),
            day.and_hms_nano_opt(23, 59, 59, 1_500_000_000).unwrap(), // a leap second
            NaiveDate::from_ymd_opt(999, 1, 2).unwrap().and_hms_micro_opt(1, 2, 3, 4).unwrap(),
        ];
        for time in times {
            assert_eq!(header_timestamp(&time), time.format("%Y-%m-%d %H:%M:%S%.6f").to_string());
            assert_eq!(wall_clock_text(&time, 'T', 9), time.format("%Y-%m-%dT%H:%M:%S%.9f").to_string());
        }
    }

    #[test]
    fn site_id_keeps_its_sign_and_value_for_every_reader() {
        // 0–127: the reference's `b`, byte for byte.
        assert_eq!(site_id_value(0), AMQPValue::ShortShortInt(0));
        assert_eq!(site_id_value(1), AMQPValue::ShortShortInt(1));
        assert_eq!(site_id_value(127), AMQPValue::ShortShortInt(127));
        // Where readers disagree on `b` and `s`: `I`, which all of them read as signed 32-bit.
        for value in [-1, -128, -32_768, 128, 200, 255, 256, 300, 32_767] {
            assert_eq!(site_id_value(value), AMQPValue::LongInt(value as i32), "{value}");
        }
        // Elsewhere the reference's own types, which every reader agrees on.
        assert_eq!(site_id_value(32_768), AMQPValue::ShortUInt(32_768));
        assert_eq!(site_id_value(65_535), AMQPValue::ShortUInt(65_535));
        assert_eq!(site_id_value(65_536), AMQPValue::LongInt(65_536));
        assert_eq!(site_id_value(-32_769), AMQPValue::LongInt(-32_769));
        assert_eq!(site_id_value(i64::from(i32::MIN)), AMQPValue::LongInt(i32::MIN));
        assert_eq!(site_id_value(i64::from(i32::MAX)), AMQPValue::LongInt(i32::MAX));
        assert_eq!(site_id_value(1 << 31), AMQPValue::LongUInt(1 << 31));
        assert_eq!(site_id_value(i64::from(u32::MAX)), AMQPValue::LongUInt(u32::MAX));
        assert_eq!(site_id_value(1 << 40), AMQPValue::LongLongInt(1 << 40));
        assert_eq!(site_id_value(-(1 << 40)), AMQPValue::LongLongInt(-(1 << 40)));
    }

    #[test]
    fn json_events_are_persistent_and_typed() {
        let ev = event(EventBody::Fields(vec![("a".into(), "b".into())]));
        let props = properties(&ev, &stamp(), None);
        assert_eq!(props.delivery_mode(), &Some(2));
        assert_eq!(props.content_type().as_ref().map(|s| s.as_str()), Some("application/json"));
        assert_eq!(props.content_encoding().as_ref().map(|s| s.as_str()), Some("utf-8"));
        assert_eq!(props.correlation_id().as_ref().map(|s| s.as_str()), Some("c0ffee00-0000-4000-8000-000000000001"));
        assert_eq!(props.timestamp(), &Some(1_795_000_000));
        let headers = props.headers().as_ref().unwrap().inner();
        assert_eq!(headers.get("ssl"), Some(&AMQPValue::Void));
        assert_eq!(headers.get("site_id"), Some(&AMQPValue::ShortShortInt(1)));
    }

    #[test]
    fn raw_events_have_no_content_type_and_tls_shows_in_the_ssl_header() {
        let props = properties(&event(EventBody::Raw(b"x".to_vec())), &stamp(), Some("TLSv1.3"));
        assert_eq!(props.content_type(), &None);
        let headers = props.headers().as_ref().unwrap().inner();
        assert_eq!(headers.get("ssl"), Some(&AMQPValue::LongString("TLSv1.3".into())));
    }

    #[test]
    fn an_envelope_gives_the_same_properties_as_the_event_it_fixes() {
        let ev = event(EventBody::Fields(vec![("host".into(), "web1".into())]));
        let envelope = Envelope::new(&ev, stamp());
        assert_eq!(envelope.body, br#"{"host": "web1"}"#.to_vec());
        assert_eq!(envelope.properties(Some("TLSv1.3")), properties(&ev, &stamp(), Some("TLSv1.3")));
        let raw = event(EventBody::Raw(vec![0xff, 0]));
        assert_eq!(Envelope::new(&raw, stamp()).properties(None), properties(&raw, &stamp(), None));
    }
}
