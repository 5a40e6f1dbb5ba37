//! The vault library on SQLite and PostgreSQL: encryption round trips,
//! redaction, wrong keys and tampered ciphertext.

mod support;

use ironclaw::config::Home;
use ironclaw::secrets::{MasterKey, SecretValue, Vault, VaultError};
use support::backends::{Backend, migrated};

fn value(s: &str) -> SecretValue {
    SecretValue::new(s.to_string())
}

async fn round_trip(backend: Backend) {
    let t = migrated(backend).await;
    let vault = Vault::new(t.db.secrets(), MasterKey::generate());
    assert!(vault.get("openai_api_key").await.unwrap().is_none());
    vault
        .set("openai_api_key", &value("sk-round-trip-1"))
        .await
        .unwrap();
    vault
        .set("b.token", &value("token ünïcode ✓"))
        .await
        .unwrap();
    vault
        .set("openai_api_key", &value("sk-round-trip-2"))
        .await
        .unwrap();
    let got = vault.get("openai_api_key").await.unwrap().unwrap();
    assert_eq!(got.expose(), "sk-round-trip-2");
    assert_eq!(
        vault.get("b.token").await.unwrap().unwrap().expose(),
        "token ünïcode ✓"
    );

    // The store holds an age file, never the value.
    let stored =
        t.db.secrets()
            .ciphertext("openai_api_key")
            .await
            .unwrap()
            .unwrap();
    assert!(stored.starts_with(b"age-encryption.org/v1\n"));
    assert!(!stored.windows(15).any(|w| w == b"sk-round-trip-2"));

    let names: Vec<String> = vault
        .list()
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.name)
        .collect();
    assert_eq!(names, ["b.token", "openai_api_key"]);
    let all = vault.all_values().await.unwrap();
    let pairs: Vec<(&str, &str)> = all.iter().map(|(n, v)| (n.as_str(), v.expose())).collect();
    assert_eq!(
        pairs,
        [
            ("b.token", "token ünïcode ✓"),
            ("openai_api_key", "sk-round-trip-2")
        ]
    );

    assert!(vault.remove("b.token").await.unwrap());
    assert!(!vault.remove("b.token").await.unwrap());
    assert!(vault.get("b.token").await.unwrap().is_none());
}

async fn nothing_prints_a_value(backend: Backend) {
    let t = migrated(backend).await;
    let vault = Vault::new(t.db.secrets(), MasterKey::generate());
    vault
        .set("api", &value("sk-never-printed-77"))
        .await
        .unwrap();
    let got = vault.get("api").await.unwrap().unwrap();
    assert_eq!(format!("{got:?}"), "[REDACTED]");
    assert_eq!(format!("{got}"), "[REDACTED]");
    let all = vault.all_values().await.unwrap();
    let shown = format!("{all:?} {vault:?} {:?}", vault.get("api").await);
    assert!(!shown.contains("sk-never-printed"), "{shown}");
    assert!(
        shown.contains("age1"),
        "the key shows its public half: {shown}"
    );
    assert!(!shown.to_lowercase().contains("age-secret-key"), "{shown}");
}

async fn a_wrong_key_is_a_clear_error(backend: Backend) {
    let t = migrated(backend).await;
    Vault::new(t.db.secrets(), MasterKey::generate())
        .set("openai_api_key", &value("sk-wrong-key-test"))
        .await
        .unwrap();
    let other = Vault::new(t.db.secrets(), MasterKey::generate());
    let err = other.get("openai_api_key").await.unwrap_err();
    assert!(matches!(err, VaultError::Decrypt { ref name, .. } if name == "openai_api_key"));
    let message = err.to_string();
    assert!(message.contains("`openai_api_key`"), "{message}");
    assert!(message.contains("different master key"), "{message}");
    // The scanner's list fails whole rather than quietly missing one.
    assert!(matches!(
        other.all_values().await,
        Err(VaultError::Decrypt { .. })
    ));
}

async fn moved_or_damaged_ciphertext_is_refused(backend: Backend) {
    let t = migrated(backend).await;
    let vault = Vault::new(t.db.secrets(), MasterKey::generate());
    vault.set("for_a_com", &value("value-for-a")).await.unwrap();
    vault.set("for_b_com", &value("value-for-b")).await.unwrap();
    // Someone with write access to the database (but not the key) moves
    // one secret's ciphertext under the other's name.
    let store = t.db.secrets();
    let a = store.ciphertext("for_a_com").await.unwrap().unwrap();
    store.put("for_b_com", &a).await.unwrap();
    let err = vault.get("for_b_com").await.unwrap_err().to_string();
    assert!(err.contains("belongs to another secret"), "{err}");
    assert!(!err.contains("value-for"), "{err}");

    let mut damaged = a.clone();
    let last = damaged.len() - 1;
    damaged[last] ^= 1;
    store.put("for_a_com", &damaged).await.unwrap();
    let err = vault.get("for_a_com").await.unwrap_err().to_string();
    assert!(err.contains("damaged"), "{err}");
    store.put("for_a_com", b"not an age file").await.unwrap();
    let err = vault.get("for_a_com").await.unwrap_err().to_string();
    assert!(err.contains("damaged"), "{err}");
}

async fn names_and_sizes_are_checked(backend: Backend) {
    let t = migrated(backend).await;
    let vault = Vault::new(t.db.secrets(), MasterKey::generate());
    for bad in ["", "a b", "a/b", "k=v", &"x".repeat(65)] {
        let err = vault.set(bad, &value("v")).await.unwrap_err();
        assert!(matches!(err, VaultError::InvalidName { .. }), "{bad:?}");
        assert!(matches!(
            vault.get(bad).await,
            Err(VaultError::InvalidName { .. })
        ));
    }
    assert!(matches!(
        vault.set("empty", &value("")).await,
        Err(VaultError::EmptyValue { .. })
    ));
    let max = ironclaw::secrets::MAX_VALUE_BYTES;
    vault.set("max", &value(&"m".repeat(max))).await.unwrap();
    assert_eq!(vault.get("max").await.unwrap().unwrap().len(), max);
    assert!(matches!(
        vault.set("over", &value(&"m".repeat(max + 1))).await,
        Err(VaultError::TooLarge { .. })
    ));
    assert!(vault.get("over").await.unwrap().is_none());
}

/// The key file a home gets on first use reads back as the same key, and
/// secrets stored with it decrypt after a "restart".
async fn the_home_key_survives_a_restart(backend: Backend) {
    let t = migrated(backend).await;
    let home = Home::at(t.dir.path().join("home"));
    assert!(MasterKey::load(&home).unwrap().is_none());
    let key = MasterKey::load_or_create(&home).unwrap();
    assert!(key.created());
    Vault::new(t.db.secrets(), key)
        .set("kept", &value("survives-restart"))
        .await
        .unwrap();
    let again = MasterKey::load(&home).unwrap().unwrap();
    assert!(!again.created());
    let vault = Vault::new(t.db.secrets(), again);
    assert_eq!(
        vault.get("kept").await.unwrap().unwrap().expose(),
        "survives-restart"
    );
}

on_both_backends!(
    round_trip,
    nothing_prints_a_value,
    a_wrong_key_is_a_clear_error,
    moved_or_damaged_ciphertext_is_refused,
    names_and_sizes_are_checked,
    the_home_key_survives_a_restart,
);
