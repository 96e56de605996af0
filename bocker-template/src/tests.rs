//! Unit tests: each expected string is what Go's text/template with Docker's functions
//! gives for the same template and data (Go 1.19 semantics, Docker 20.10's functions).

use serde_json::json;

use super::*;

fn render(t: &str, v: &Value) -> String {
    Template::parse(t).unwrap().render(v).unwrap()
}

fn ctr() -> Value {
    json!({
        "ID": "ps_0123456789ab", "Names": "web", "Image": "busybox",
        "Labels": {"b": "2", "a": "1"}, "Ports": [], "Args": ["sh", "-c", "true"],
        "State": {"Status": "running", "Pid": 42, "Running": true, "ExitCode": 0},
        "started_at": "2026-11-29T10:00:00Z"
    })
}

#[test]
fn fields_and_nested_fields() {
    assert_eq!(render("{{.ID}} {{.Names}}", &ctr()), "ps_0123456789ab web");
    assert_eq!(
        render("{{.State.Status}}/{{.State.Pid}}", &ctr()),
        "running/42"
    );
    assert_eq!(render("{{.StartedAt}}", &ctr()), "2026-11-29T10:00:00Z");
}

#[test]
fn values_print_as_go_prints_them() {
    assert_eq!(render("{{.Args}}", &ctr()), "[sh -c true]");
    assert_eq!(render("{{.Labels}}", &ctr()), "map[a:1 b:2]");
    assert_eq!(render("{{.State.Running}}", &ctr()), "true");
}

#[test]
fn json_of_dot_and_of_a_field() {
    assert_eq!(render("{{json .Labels}}", &ctr()), r#"{"a":"1","b":"2"}"#);
    assert_eq!(render("{{json .Args}}", &ctr()), r#"["sh","-c","true"]"#);
    let v: Value = serde_json::from_str(&render("{{json .}}", &ctr())).unwrap();
    assert_eq!(v, ctr());
}

#[test]
fn range_over_lists_and_maps_with_variables() {
    assert_eq!(
        render("{{range .Args}}<{{.}}>{{end}}", &ctr()),
        "<sh><-c><true>"
    );
    assert_eq!(
        render("{{range $k, $v := .Labels}}{{$k}}={{$v}};{{end}}", &ctr()),
        "a=1;b=2;"
    );
    assert_eq!(
        render("{{range .Ports}}x{{else}}none{{end}}", &ctr()),
        "none"
    );
    assert_eq!(
        render("{{range $i, $a := .Args}}{{$i}}{{end}}", &ctr()),
        "012"
    );
    assert_eq!(
        render("{{range .Args}}{{$.Names}}{{end}}", &ctr()),
        "webwebweb"
    );
}

#[test]
fn if_else_with() {
    let t = "{{if .State.Running}}up{{else}}down{{end}}";
    assert_eq!(render(t, &ctr()), "up");
    assert_eq!(render(t, &json!({"State": {"Running": false}})), "down");
    assert_eq!(
        render(
            "{{if eq .Names \"db\"}}db{{else if eq .Names \"web\"}}web{{end}}",
            &ctr()
        ),
        "web"
    );
    assert_eq!(
        render("{{with .State}}{{.Status}}{{end}}", &ctr()),
        "running"
    );
    assert_eq!(
        render("{{if not .Ports}}no ports{{end}}", &ctr()),
        "no ports"
    );
}

#[test]
fn docker_functions() {
    assert_eq!(render("{{join .Args \",\"}}", &ctr()), "sh,-c,true");
    assert_eq!(
        render("{{upper .Names}} {{.Image | upper}}", &ctr()),
        "WEB BUSYBOX"
    );
    assert_eq!(render("{{lower \"ABC\"}}", &ctr()), "abc");
    assert_eq!(render("{{title \"hello world\"}}", &ctr()), "Hello World");
    assert_eq!(render("{{index .Labels \"a\"}}", &ctr()), "1");
    assert_eq!(render("{{index .Args 1}}", &ctr()), "-c");
    assert_eq!(render("{{len .Args}}", &ctr()), "3");
    assert_eq!(render("{{split \"a:b\" \":\"}}", &ctr()), "[a b]");
    assert_eq!(render("{{truncate .ID 6}}", &ctr()), "ps_012");
    assert_eq!(render("{{(index .Args 0)}}", &ctr()), "sh");
}

#[test]
fn printf_as_go() {
    assert_eq!(
        render("{{printf \"%s-%d\" .Names .State.Pid}}", &ctr()),
        "web-42"
    );
    assert_eq!(render("{{printf \"%-6s|\" .Names}}", &ctr()), "web   |");
    assert_eq!(render("{{printf \"%5s|\" .Names}}", &ctr()), "  web|");
    assert_eq!(render("{{printf \"%q\" .Names}}", &ctr()), "\"web\"");
    assert_eq!(render("{{printf \"%v\" .Args}}", &ctr()), "[sh -c true]");
    assert_eq!(render("{{printf \"%.2f\" 1.5}}", &ctr()), "1.50");
    assert_eq!(render("{{printf \"%03d%%\" 7}}", &ctr()), "007%");
}

#[test]
fn trim_markers_and_comments() {
    assert_eq!(render("a  {{- .Names -}}  b", &ctr()), "awebb");
    assert_eq!(render("a{{/* note */}}b", &ctr()), "ab");
}

#[test]
fn table_has_a_header_and_docker_alignment() {
    let t = Template::parse("table {{.ID}}\\t{{.Names}}").unwrap();
    assert!(t.is_table());
    let out = t
        .render_rows(
            &json!({"ID": "CONTAINER ID", "Names": "NAMES"}),
            &[ctr(), json!({"ID": "ps_1", "Names": "db"})],
        )
        .unwrap();
    // Go's tabwriter(minwidth 10, padding 3): the first column is 15+3 wide.
    assert_eq!(
        out,
        "CONTAINER ID      NAMES\nps_0123456789ab   web\nps_1              db\n"
    );
    let plain = Template::parse("{{.Names}}").unwrap();
    assert_eq!(plain.render_rows(&json!({}), &[ctr()]).unwrap(), "web\n");
}

#[test]
fn errors_are_reported_not_printed() {
    assert!(matches!(Template::parse("{{.ID"), Err(Error::Parse(_))));
    assert!(matches!(
        Template::parse("{{range .Args}}x"),
        Err(Error::Parse(_))
    ));
    assert!(matches!(Template::parse("{{end}}"), Err(Error::Parse(_))));
    let t = Template::parse("{{.Nope}}").unwrap();
    assert_eq!(
        t.render(&ctr()),
        Err(Error::Exec("can't evaluate field Nope".into()))
    );
    let t = Template::parse("{{frob .ID}}").unwrap();
    assert!(t.render(&ctr()).is_err());
}
