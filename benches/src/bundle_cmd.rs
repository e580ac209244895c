//! `patchbench bundle`: keys, packing, signing, verifying and installing
//! over-the-air patch bundles.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use patchrt::model::StoreAs;
use patchrt::model::synthetic::{self, SyntheticSpec};
use patchrt::ota::pack::add_signature;
use patchrt::ota::{
    BundleBuilder, BundleLimits, BundleSigner, PublicKey, TrustedKeys, Updater, UpdaterOptions,
    verify_bundle,
};
use patchrt::{Backbone, Engine, Resolution};

/// `patchbench bundle` subcommands.
#[derive(clap::Subcommand, Debug)]
pub enum BundleCommand {
    /// Create an Ed25519 key pair: NAME.key (secret seed, hex) and NAME.pub.
    Keygen {
        /// Path prefix of the two files.
        #[arg(long)]
        out: PathBuf,
    },
    /// Pack patch files into a signed bundle.
    Pack(PackArgs),
    /// Add a signature to a bundle (key rotation).
    Sign {
        /// Secret key file.
        #[arg(long)]
        key: PathBuf,
        /// Output bundle.
        #[arg(long)]
        out: PathBuf,
        /// Input bundle.
        bundle: PathBuf,
    },
    /// Verify a bundle against pinned keys and a backbone, without installing.
    Verify(TargetArgs),
    /// Verify and install a bundle (file or http(s) URL) into a store directory.
    Install(InstallArgs),
    /// Restore the previous bundle of a store directory.
    Rollback(StoreArgs),
}

/// Arguments of `bundle pack`.
#[derive(clap::Args, Debug)]
pub struct PackArgs {
    /// Bundle name.
    #[arg(long)]
    name: String,
    /// Bundle version (must increase with every release).
    #[arg(long)]
    version: u64,
    /// Secret key file(s) to sign with.
    #[arg(long = "key", required = true)]
    keys: Vec<PathBuf>,
    /// Output bundle file.
    #[arg(long)]
    out: PathBuf,
    /// Backbone file the patches fit (default: the embedded synthetic model).
    #[arg(long)]
    backbone: Option<PathBuf>,
    /// Creation time to record instead of now (YYYY-MM-DDTHH:MM:SSZ).
    #[arg(long)]
    created: Option<String>,
    /// Write `synthetic:` patches in their smallest form: BatchNorm folded to
    /// scale and bias, stored as f16.
    #[arg(long)]
    compact: bool,
    /// Patch files, or `synthetic:<id>` for a patch of the embedded model
    /// (e.g. synthetic:objects@224, synthetic:flowers@224).
    #[arg(required = true)]
    patches: Vec<String>,
}

/// Pinned keys and backbone.
#[derive(clap::Args, Debug)]
pub struct TargetArgs {
    /// Public key file(s) to trust.
    #[arg(long = "pubkey", required = true)]
    pubkeys: Vec<PathBuf>,
    /// Backbone file (default: the embedded synthetic model).
    #[arg(long)]
    backbone: Option<PathBuf>,
    /// Bundle file.
    bundle: PathBuf,
}

/// A store directory with its pinned keys and backbone.
#[derive(clap::Args, Debug)]
pub struct StoreArgs {
    /// Store directory.
    #[arg(long)]
    store: PathBuf,
    /// Public key file(s) to trust.
    #[arg(long = "pubkey", required = true)]
    pubkeys: Vec<PathBuf>,
    /// Backbone file (default: the embedded synthetic model).
    #[arg(long)]
    backbone: Option<PathBuf>,
    /// Adapter name filter (overrides PATCHRT_ADAPTER).
    #[arg(long)]
    adapter: Option<String>,
}

/// Arguments of `bundle install`.
#[derive(clap::Args, Debug)]
pub struct InstallArgs {
    #[command(flatten)]
    store: StoreArgs,
    /// Accept a version not above the installed one.
    #[arg(long)]
    allow_downgrade: bool,
    /// Bundle file or http(s) URL.
    source: String,
}

/// Runs a `bundle` subcommand.
pub fn run(command: &BundleCommand) -> Result<()> {
    match command {
        BundleCommand::Keygen { out } => keygen(out),
        BundleCommand::Pack(args) => pack(args),
        BundleCommand::Sign { key, out, bundle } => {
            let bytes = read(bundle)?;
            let signed = add_signature(&bytes, &read_signer(key)?, &BundleLimits::default())?;
            crate::output::write_output(out, &signed)?;
            println!("signed {} -> {}", bundle.display(), out.display());
            Ok(())
        }
        BundleCommand::Verify(args) => verify(args),
        BundleCommand::Install(args) => install(args),
        BundleCommand::Rollback(args) => {
            let updater = open_store(args)?;
            let b = updater.rollback()?;
            println!("rolled back to {} v{}", b.name, b.version);
            Ok(())
        }
    }
}

fn keygen(out: &Path) -> Result<()> {
    let mut seed = [0u8; 32];
    getrandom::fill(&mut seed).map_err(|e| anyhow::anyhow!("OS random source: {e}"))?;
    let signer = BundleSigner::from_seed(seed);
    let key = out.with_extension("key");
    let public = out.with_extension("pub");
    crate::output::write_output(&key, format!("{}\n", signer.to_hex()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600))
            .with_context(|| format!("restricting {}", key.display()))?;
    }
    crate::output::write_output(&public, format!("{}\n", signer.public().to_hex()))?;
    println!(
        "key id {}: secret {} (keep it off devices), public {}",
        signer.public().id(),
        key.display(),
        public.display()
    );
    Ok(())
}

fn pack(args: &PackArgs) -> Result<()> {
    let backbone = load_backbone(args.backbone.as_deref())?;
    let mut builder = BundleBuilder::new(&args.name, args.version, &backbone);
    if let Some(created) = &args.created {
        builder = builder.created(created);
    }
    let mut synthetic_patches = None;
    for source in &args.patches {
        let (file, bytes) = match source.strip_prefix("synthetic:") {
            Some(id) => {
                let all = synthetic_patches.get_or_insert_with(|| {
                    synthetic::task_patches(&backbone, &Resolution::STANDARD, 7)
                });
                let patch = all
                    .iter()
                    .find(|p| p.id == id)
                    .with_context(|| format!("no synthetic patch {id}"))?;
                let bytes = if args.compact {
                    patch.folded().to_bytes(&backbone, StoreAs::F16)
                } else {
                    patch.to_bytes(&backbone, StoreAs::F32)
                };
                (format!("{}.safetensors", id.replace('@', "-")), bytes)
            }
            None => {
                let path = Path::new(source);
                let name = path
                    .file_name()
                    .and_then(|n| n.to_str())
                    .with_context(|| format!("{source} has no file name"))?;
                (name.to_string(), read(path)?)
            }
        };
        let size = bytes.len();
        builder
            .add_patch(&file, bytes, &backbone)
            .with_context(|| format!("adding {source}"))?;
        println!("  {file}: {size} B");
    }
    let signers = args
        .keys
        .iter()
        .map(|k| read_signer(k))
        .collect::<Result<Vec<_>>>()?;
    let refs: Vec<&BundleSigner> = signers.iter().collect();
    let bytes = builder.build(&refs)?;
    crate::output::write_output(&args.out, &bytes)?;
    let manifest = builder.manifest();
    println!(
        "bundle {} v{}: {} patches, {} B ({} B of patch files, {} B of manifest and framing), signed by [{}] -> {}",
        manifest.name,
        manifest.version,
        manifest.patches.len(),
        bytes.len(),
        manifest.total_size(),
        bytes.len() as u64 - manifest.total_size(),
        signers
            .iter()
            .map(|s| s.public().id().to_string())
            .collect::<Vec<_>>()
            .join(", "),
        args.out.display()
    );
    Ok(())
}

fn verify(args: &TargetArgs) -> Result<()> {
    let backbone = load_backbone(args.backbone.as_deref())?;
    let keys = read_keys(&args.pubkeys)?;
    let bytes = read(&args.bundle)?;
    let started = Instant::now();
    let bundle = verify_bundle(&bytes, &keys, &backbone, &BundleLimits::default())?;
    let ms = started.elapsed().as_secs_f64() * 1e3;
    let m = &bundle.manifest;
    println!(
        "OK: {} v{} created {}, signed by key {}, for backbone {}, verified in {ms:.1} ms",
        m.name, m.version, m.created, bundle.key_id, m.backbone_sha256
    );
    for p in &m.patches {
        let res = p
            .resolution
            .side()
            .map_or("any".to_string(), |s| s.to_string());
        println!(
            "  {} task {} at {res}: {} ({} B, sha256 {})",
            p.id, p.task, p.file, p.size, p.sha256
        );
    }
    Ok(())
}

fn install(args: &InstallArgs) -> Result<()> {
    let bytes = if args.source.starts_with("http://") || args.source.starts_with("https://") {
        let partial = args.store.store.join("download.part");
        std::fs::create_dir_all(&args.store.store)
            .with_context(|| format!("creating {}", args.store.store.display()))?;
        let started = Instant::now();
        let bytes = patchrt::ota::download::download(
            &args.source,
            &partial,
            &patchrt::ota::download::DownloadOptions::default(),
        )?;
        println!(
            "downloaded {} B in {:.1} ms",
            bytes.len(),
            started.elapsed().as_secs_f64() * 1e3
        );
        bytes
    } else {
        read(Path::new(&args.source))?
    };
    let updater = open_store_with(&args.store, args.allow_downgrade)?;
    let before = updater.installed_version();
    let started = Instant::now();
    let installed = updater.install(&bytes)?;
    let ms = started.elapsed().as_secs_f64() * 1e3;
    println!(
        "installed {} v{} (was v{before}) in {ms:.1} ms: verify, stage + fsync, switch, upload {} patches",
        installed.name,
        installed.version,
        installed.patches.len()
    );
    for p in updater.patches() {
        println!("  {} -> engine id {}", p.id, p.engine_id);
    }
    Ok(())
}

fn open_store(args: &StoreArgs) -> Result<Updater> {
    open_store_with(args, false)
}

fn open_store_with(args: &StoreArgs, allow_downgrade: bool) -> Result<Updater> {
    let backbone = load_backbone(args.backbone.as_deref())?;
    let options = crate::source::engine_options(&args.adapter, false);
    let engine = Arc::new(Engine::new(backbone, options)?);
    let updater = Updater::open(
        engine,
        &args.store,
        read_keys(&args.pubkeys)?,
        UpdaterOptions {
            allow_downgrade,
            ..UpdaterOptions::default()
        },
    )?;
    if let Some(why) = updater.recovered_from() {
        eprintln!("warning: the installed bundle did not verify ({why}); fell back");
    }
    Ok(updater)
}

fn load_backbone(path: Option<&Path>) -> Result<Backbone> {
    match path {
        Some(p) => Backbone::from_path(p).with_context(|| format!("loading {}", p.display())),
        None => Backbone::from_bytes(&synthetic::backbone_bytes(&SyntheticSpec::default()))
            .context("embedded synthetic backbone"),
    }
}

fn read_keys(paths: &[PathBuf]) -> Result<TrustedKeys> {
    let keys = paths
        .iter()
        .map(|p| {
            let text =
                std::fs::read_to_string(p).with_context(|| format!("reading {}", p.display()))?;
            PublicKey::from_hex(&text).with_context(|| format!("public key {}", p.display()))
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(TrustedKeys::new(keys))
}

fn read_signer(path: &Path) -> Result<BundleSigner> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    if text.trim().len() != 64 {
        bail!(
            "{} is not a secret key file (64 hex digits)",
            path.display()
        );
    }
    Ok(BundleSigner::from_hex(&text)?)
}

fn read(path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).with_context(|| format!("reading {}", path.display()))
}
