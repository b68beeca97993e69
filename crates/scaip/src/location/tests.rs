//! The position, time and NMEA rules at their boundaries.

use super::*;

#[track_caller]
fn check<T>(cases: &[(&str, Option<&str>)])
where
    T: FromStr<Err = InvalidValue> + Display,
{
    for (input, expected) in cases {
        let got = input.parse::<T>().map(|v| v.to_string()).ok();
        assert_eq!(
            got.as_deref(),
            *expected,
            "{} from {input:?}",
            std::any::type_name::<T>()
        );
    }
}

#[test]
fn geo_is_lat_lon_in_range() {
    check::<GeoPosition>(&[
        ("59.329323,18.068581", Some("59.329323,18.068581")),
        ("59.3,18", Some("59.300000,18.000000")),
        ("90,180", Some("90.000000,180.000000")),
        ("90.000001,0", None),
        ("0,180.0000001", Some("0.000000,180.000000")),
        ("0,180.0000005", None),
        ("-90,-180", Some("-90.000000,-180.000000")),
        ("-90.000001,0", None),
        ("0,-180.000001", None),
        ("59.3293235,18.0685815", Some("59.329324,18.068582")),
        ("-0.0000004,0", Some("0.000000,0.000000")),
        ("1.123456789012345,2", Some("1.123457,2.000000")),
        ("1.1234567890123456,2", None),
        ("59.3", None),
        ("59.3,18.0,1", None),
        ("59.,18", None),
        (".3,18", None),
        ("+59,18", None),
        ("59, 18", None),
        ("1000,0", None),
        ("", None),
        (",", None),
    ]);
    let p: GeoPosition = "-33.868820,151.209296".parse().unwrap();
    assert_eq!(p.latitude_micro(), -33_868_820);
    assert!((p.longitude() - 151.209296).abs() < 1e-9);
    assert_eq!(format!("{p:?}"), "GeoPosition(<redacted>)");
}

#[test]
fn geo_from_degrees_rounds_and_checks_range() {
    let p = GeoPosition::from_degrees(59.3293234, 18.0685808).unwrap();
    assert_eq!(p.to_string(), "59.329323,18.068581");
    assert!(GeoPosition::from_degrees(f64::NAN, 0.0).is_err());
    assert!(GeoPosition::from_degrees(0.0, f64::INFINITY).is_err());
    assert!(GeoPosition::from_degrees(90.1, 0.0).is_err());
    assert!(GeoPosition::from_degrees(0.0, -180.1).is_err());
    // The longest canonical form fits the XSD-derived 23 characters.
    let extreme = GeoPosition::from_degrees(-89.999999, -179.999999).unwrap();
    assert!(extreme.to_string().len() <= 23);
}

#[test]
fn fix_time_reads_iso_8601_with_an_offset() {
    check::<FixTime>(&[
        ("2026-11-30T21:04:05+01", Some("2026-11-30T21:04:05+01")),
        ("2026-11-30T21:04:05+0100", Some("2026-11-30T21:04:05+01")),
        ("2026-11-30T21:04:05+01:00", Some("2026-11-30T21:04:05+01")),
        ("2026-11-30T21:04:05Z", Some("2026-11-30T21:04:05+00")),
        ("2026-11-30T21:04:05-00", Some("2026-11-30T21:04:05+00")),
        (
            "2026-11-30T21:04:05+05:30",
            Some("2026-11-30T21:04:05+05:30"),
        ),
        (
            "2026-11-30T21:04:05-03:30",
            Some("2026-11-30T21:04:05-03:30"),
        ),
        ("2026-11-30T21:04:05.123+01", Some("2026-11-30T21:04:05+01")),
        (
            "2026-11-30T21:04:05.123456789Z",
            Some("2026-11-30T21:04:05+00"),
        ),
        ("2026-11-30T21:04:05.1234567890Z", None),
        ("2026-11-30T21:04:05.Z", None),
        (
            "2026-11-30T21:04:05+23:59",
            Some("2026-11-30T21:04:05+23:59"),
        ),
        ("2026-11-30T21:04:05+24", None),
        ("2026-11-30T21:04:05+01:60", None),
        ("2026-11-30T21:04:05", None),
        ("2026-11-30 21:04:05+01", None),
        ("2026-02-29T00:00:00+01", None),
        ("2028-02-29T00:00:00+01", Some("2028-02-29T00:00:00+01")),
        ("2026-13-01T00:00:00+01", None),
        ("2026-11-30T24:00:00+01", None),
        ("2026-11-30T23:59:60+01", None),
        ("0000-01-01T00:00:00Z", Some("0000-01-01T00:00:00+00")),
        ("9999-12-31T23:59:59Z", Some("9999-12-31T23:59:59+00")),
        ("10000-01-01T00:00:00Z", None),
        ("2026-11-30T21:04:05+01x", None),
        ("2026-11-30T21:04:05+1", None),
        ("2026-11-30t21:04:05+01", None),
        ("", None),
    ]);
    // The XSD-derived form is exactly 22 characters.
    let t: FixTime = "2026-11-30T21:04:05Z".parse().unwrap();
    assert_eq!(t.to_string().len(), 22);
}

#[test]
fn fix_time_keeps_its_offset() {
    let a: FixTime = "2026-11-30T21:00:00+01".parse().unwrap();
    let b: FixTime = "2026-11-30T20:00:00Z".parse().unwrap();
    assert_eq!(a.at(), b.at(), "the same instant");
    assert_ne!(a, b, "but not the same offset");
}

#[test]
fn gga_is_1_to_81_printable_ascii() {
    let s = "$GPGGA,123519,4807.038,N,01131.000,E,1,08,0.9,545.4,M,46.9,M,,*47";
    check::<Gga>(&[
        (s, Some(s)),
        (&"x".repeat(81), Some(&"x".repeat(81))),
        (&"x".repeat(82), None),
        ("", None),
        ("$GPGGA\r\n", None),
        ("å", None),
    ]);
}
