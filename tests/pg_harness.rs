//! The test harness's store choice (tests/common/pg.rs): a file on SQLite, a
//! schema of each test's own on PostgreSQL (`SNAPGOV_TEST_POSTGRES`), gone
//! when the test ends. These pass with the variable set and unset.

mod common;

use common::pg::{self, TestDb};

/// Whether the schema exists, asked on a connection of its own.
fn schema_exists(url: &str, schema: &str) -> bool {
    let mut c = pg::connect(url);
    let row = c
        .query_one(
            "SELECT count(*) FROM information_schema.schemata WHERE schema_name = $1",
            &[&schema],
        )
        .unwrap();
    row.get::<_, i64>(0) == 1
}

#[test]
fn each_test_db_is_its_own_store_and_postgres_schemas_go_with_it() {
    let dir = tempfile::tempdir().unwrap();
    let Some(url) = pg::test_url() else {
        let db = TestDb::new(dir.path());
        assert!(!db.is_postgres());
        assert_eq!(pg::backend_name(), "sqlite");
        assert_eq!(db.location(), dir.path().join("store.db").to_str().unwrap());
        assert_eq!(db.schema(), None);
        return;
    };
    assert_eq!(pg::backend_name(), "postgres");
    let a = TestDb::new(dir.path());
    let b = TestDb::new(dir.path());
    assert!(a.is_postgres() && b.is_postgres());
    let (sa, sb) = (
        a.schema().unwrap().to_string(),
        b.schema().unwrap().to_string(),
    );
    assert_ne!(sa, sb, "two stores share a schema");
    assert_ne!(a.location(), b.location());
    for s in [&sa, &sb] {
        assert!(s.starts_with(pg::SCHEMA_PREFIX), "{s}");
        assert!(s.len() <= 63, "{s} is longer than PostgreSQL's identifiers");
        assert!(
            schema_exists(&url, s),
            "{s} does not exist while its TestDb lives"
        );
    }
    drop(a);
    assert!(!schema_exists(&url, &sa), "{sa} outlived its TestDb");
    assert!(
        schema_exists(&url, &sb),
        "dropping one TestDb dropped another's schema"
    );
    drop(b);
    assert!(!schema_exists(&url, &sb), "{sb} outlived its TestDb");
}

#[test]
fn a_postgres_location_puts_the_tests_schema_first_on_the_search_path() {
    let dir = tempfile::tempdir().unwrap();
    let Some(_) = pg::test_url() else {
        return;
    };
    let db = TestDb::new(dir.path());
    let schema = db.schema().unwrap().to_string();
    // What snapgov will do with the location: hand it to the postgres crate.
    let mut c = pg::connect(&db.location());
    let row = c.query_one("SELECT current_schema()", &[]).unwrap();
    assert_eq!(row.get::<_, String>(0), schema);
    c.batch_execute("CREATE TABLE t (x int)").unwrap();
    let row = c
        .query_one(
            "SELECT count(*) FROM information_schema.tables \
             WHERE table_schema = $1 AND table_name = 't'",
            &[&schema],
        )
        .unwrap();
    assert_eq!(row.get::<_, i64>(0), 1, "the table went elsewhere");
    drop(c);
    // CASCADE: the schema goes with what the test made in it.
    let url = pg::test_url().unwrap();
    drop(db);
    assert!(!schema_exists(&url, &schema));
}

#[test]
fn the_search_path_joins_the_urls_query() {
    use pg::with_search_path as w;
    assert_eq!(
        w("postgres://root@127.0.0.1:5432/test", "s1"),
        "postgres://root@127.0.0.1:5432/test?options=-csearch_path%3Ds1"
    );
    assert_eq!(
        w("postgres://h/db?sslmode=disable", "s1"),
        "postgres://h/db?sslmode=disable&options=-csearch_path%3Ds1"
    );
    assert_eq!(
        w(
            "postgres://h/db?options=-cwork_mem%3D64MB&application_name=t",
            "s1"
        ),
        "postgres://h/db?options=-cwork_mem%3D64MB%20-csearch_path%3Ds1&application_name=t"
    );
    // Each is a URL the postgres crate takes, with the options it means.
    let cfg: postgres::Config = w("postgres://h/db?options=-cwork_mem%3D64MB", "s1")
        .parse()
        .unwrap();
    assert_eq!(cfg.get_options(), Some("-cwork_mem=64MB -csearch_path=s1"));
}

#[test]
fn messages_never_show_a_password() {
    assert_eq!(
        pg::redact("postgres://u:secret@h:5432/db?sslmode=require"),
        "postgres://u:***@h:5432/db?sslmode=require"
    );
    assert_eq!(
        pg::redact("postgresql://u@h/db?password=secret&x=1"),
        "postgresql://u@h/db?password=***&x=1"
    );
    assert_eq!(pg::redact("postgres://u@h/db"), "postgres://u@h/db");
}

/// The names in one bash array `NAME=( … )` of .ci/run.
fn ci_array(script: &str, name: &str) -> std::collections::BTreeSet<String> {
    let start = script
        .find(&format!("\n{name}=("))
        .unwrap_or_else(|| panic!(".ci/run has no {name}=( … )"));
    let body = &script[start + name.len() + 3..];
    let end = body.find(')').unwrap();
    body[..end].split_whitespace().map(str::to_string).collect()
}

#[test]
fn ci_and_the_readme_run_the_same_suites_on_postgres_and_every_suite_is_placed() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let script = std::fs::read_to_string(root.join(".ci/run")).unwrap();
    let on_pg = ci_array(&script, "PG_TESTS");
    let storeless = ci_array(&script, "STORELESS_TESTS");
    assert!(
        on_pg.is_disjoint(&storeless),
        ".ci/run lists a suite both ways"
    );
    let mut suites = std::collections::BTreeSet::new();
    for e in std::fs::read_dir(root.join("tests")).unwrap() {
        let p = e.unwrap().path();
        if p.extension().is_some_and(|x| x == "rs") {
            suites.insert(p.file_stem().unwrap().to_str().unwrap().to_string());
        }
    }
    let placed: std::collections::BTreeSet<String> = on_pg.union(&storeless).cloned().collect();
    assert_eq!(
        suites, placed,
        "every tests/*.rs is in PG_TESTS (it touches a store) or STORELESS_TESTS of .ci/run"
    );

    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    let part = &readme[readme
        .find("### Tests on PostgreSQL")
        .expect("README has a 'Tests on PostgreSQL' part")..];
    let cmd_start = part
        .find("SNAPGOV_TEST_POSTGRES='postgres://root@127.0.0.1:5432/test?sslmode=disable' cargo test --all-features --lib")
        .expect("the README's PostgreSQL test command");
    let cmd_end = part[cmd_start..].find("\n```").unwrap() + cmd_start;
    let words: Vec<&str> = part[cmd_start..cmd_end].split_whitespace().collect();
    let in_readme: std::collections::BTreeSet<String> = words
        .windows(2)
        .filter(|w| w[0] == "--test")
        .map(|w| w[1].to_string())
        .collect();
    assert_eq!(
        in_readme, on_pg,
        "the README's PostgreSQL command and .ci/run's PG_TESTS differ"
    );
    assert!(script.contains("PG_URL=\"postgres://root@$PG_HOST:$PG_PORT/test?sslmode=disable\""));
    assert!(script.contains("PG_HOST=127.0.0.1") && script.contains("PG_PORT=5432"));
}
