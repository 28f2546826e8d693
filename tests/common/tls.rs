//! A certificate authority made for one test with the `openssl` CLI, and a
//! server certificate it signed for 127.0.0.1: what the fake portal serves
//! HTTPS with. `None` (and a visible skip) where openssl is missing, outside CI.

use std::path::PathBuf;
use std::process::{Command, Stdio};

use fake_portal::TlsIdentity;

pub struct TestCa {
    pub dir: tempfile::TempDir,
    /// The CA certificate (PEM): what AWS_CA_BUNDLE points at.
    pub ca_pem: PathBuf,
    /// The server's certificate and key, for `FakePortal::start_tls`.
    pub identity: TlsIdentity,
}

pub fn test_ca() -> Option<TestCa> {
    let dir = tempfile::tempdir().unwrap();
    let openssl = |args: &[&str]| {
        Command::new("openssl")
            .args(args)
            .current_dir(dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .output()
    };
    if openssl(&["version"]).is_err() {
        assert!(
            std::env::var_os("CI").is_none(),
            "openssl is needed for the TLS tests in CI (.ci/run installs it)"
        );
        eprintln!("skipped: openssl is not installed (.ci/run installs it from Debian's packages)");
        return None;
    }
    std::fs::write(
        dir.path().join("server.ext"),
        "subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=critical,CA:FALSE\n\
         keyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n",
    )
    .unwrap();
    let steps: [&[&str]; 3] = [
        &[
            "req",
            "-x509",
            "-new",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-keyout",
            "ca.key",
            "-out",
            "ca.pem",
            "-days",
            "2",
            "-subj",
            "/CN=ssosync test CA",
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-addext",
            "keyUsage=critical,keyCertSign,cRLSign",
        ],
        &[
            "req",
            "-new",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-keyout",
            "server.key",
            "-out",
            "server.csr",
            "-subj",
            "/CN=127.0.0.1",
        ],
        &[
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            "server.pem",
            "-days",
            "2",
            "-extfile",
            "server.ext",
        ],
    ];
    for step in steps {
        let out = openssl(step).unwrap();
        assert!(
            out.status.success(),
            "openssl {step:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let read = |name: &str| std::fs::read(dir.path().join(name)).unwrap();
    let identity = TlsIdentity::from_pem(&read("server.pem"), &read("server.key")).unwrap();
    Some(TestCa {
        ca_pem: dir.path().join("ca.pem"),
        dir,
        identity,
    })
}
