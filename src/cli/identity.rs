//! Who is acting, when neither --user nor SNAPGOV_USER says.

/// The operator, as the audit trail records them when --user/SNAPGOV_USER
/// is not given: the login name from the environment, else the name of the
/// process's uid (root in a container, cron and systemd have no USER), else
/// `uid:N`. Every front end (CLI, console, API tokens' CLI) gets it from here.
pub fn os_user() -> String {
    for var in ["USER", "LOGNAME", "USERNAME"] {
        if let Ok(u) = std::env::var(var) {
            if !u.trim().is_empty() {
                return u;
            }
        }
    }
    user_by_uid()
}

#[cfg(unix)]
fn user_by_uid() -> String {
    let uid = nix::unistd::Uid::current();
    name_or_uid(
        nix::unistd::User::from_uid(uid)
            .ok()
            .flatten()
            .map(|u| u.name),
        uid.as_raw(),
    )
}

#[cfg(not(unix))]
fn user_by_uid() -> String {
    // Windows sets USERNAME for every logon session; without it there is
    // no uid to name.
    "uid:?".to_string()
}

/// A uid's name if it has one, else `uid:N`: never an empty or made-up name.
#[cfg_attr(not(unix), allow(dead_code))]
fn name_or_uid(name: Option<String>, uid: u32) -> String {
    match name {
        Some(n) if !n.trim().is_empty() => n,
        _ => format!("uid:{uid}"),
    }
}

#[cfg(test)]
mod identity_tests {
    use super::name_or_uid;

    #[test]
    fn a_uid_without_a_name_is_recorded_as_uid_n() {
        assert_eq!(name_or_uid(None, 4242), "uid:4242");
        assert_eq!(name_or_uid(Some(" ".into()), 7), "uid:7");
        assert_eq!(name_or_uid(Some("root".into()), 0), "root");
    }
}
