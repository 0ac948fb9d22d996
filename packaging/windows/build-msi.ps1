<#
.SYNOPSIS
  Builds the Floorhand bundle and its per-machine MSI on Windows.

.DESCRIPTION
  Run from the repository root, in a virtual environment installed from the Windows lock file
  (packaging/lock-platforms.sh writes it with the versions of requirements.lock):

    python -m venv .venv; .venv\Scripts\python -m pip install --require-hashes -r packaging\windows\requirements.lock
    .venv\Scripts\python -m pip install --no-deps -e .
    powershell -ExecutionPolicy Bypass -File packaging\windows\build-msi.ps1

  Needs the .NET SDK (for the `wix` tool, installed here as a global .NET tool at a pinned
  version). Output: dist\floorhand\ (the bundle) and dist\floorhand-<version>-x64.msi.

  Signing is optional: with SIGN_CERT_THUMBPRINT set (a code-signing certificate in the
  machine's or user's certificate store), floorhand.exe, floorhandw.exe, the config script
  and the MSI are signed with signtool and time-stamped.
#>
param(
    [string]$Python = ".venv\Scripts\python.exe",
    # Defaults to desktop_app/version.py; CI sets a higher one to test an in-place upgrade.
    [string]$Version = "",
    [string]$WixVersion = "5.0.2",
    [switch]$SkipBundle
)

$ErrorActionPreference = "Stop"
Set-StrictMode -Version Latest

function Invoke-Checked([string]$What, [scriptblock]$Command) {
    & $Command
    if ($LASTEXITCODE -ne 0) { throw "$What failed with exit code $LASTEXITCODE" }
}

# (PowerShell names are case-insensitive: $Version is the parameter, $productVersion the result.)
$productVersion = if ($Version) { $Version } else {
    (Select-String -Path desktop_app\version.py -Pattern '^VERSION = "(.+)"').Matches[0].Groups[1].Value
}
Write-Output "Floorhand $productVersion"

if (-not $SkipBundle) {
    Invoke-Checked "PyInstaller" {
        & $Python -m PyInstaller --noconfirm --clean --log-level WARN --distpath dist --workpath build\pyinstaller packaging\floorhand.spec
    }
}
if (-not (Test-Path dist\floorhand\floorhand.exe) -or -not (Test-Path dist\floorhand\floorhandw.exe)) {
    throw "dist\floorhand has no floorhand.exe / floorhandw.exe"
}

$thumbprint = $env:SIGN_CERT_THUMBPRINT
$timestamp = if ($env:SIGN_TIMESTAMP_URL) { $env:SIGN_TIMESTAMP_URL } else { "http://timestamp.digicert.com" }
function Invoke-Sign([string[]]$Files) {
    if (-not $thumbprint) { return }
    Invoke-Checked "signtool" { signtool sign /sha1 $thumbprint /fd sha256 /tr $timestamp /td sha256 $Files }
}
Invoke-Sign @("dist\floorhand\floorhand.exe", "dist\floorhand\floorhandw.exe")
if ($thumbprint) {
    # A signed script still runs where Group Policy enforces AllSigned for PowerShell.
    $cert = Get-ChildItem -Path Cert:\CurrentUser\My, Cert:\LocalMachine\My | Where-Object Thumbprint -eq $thumbprint | Select-Object -First 1
    $signed = Set-AuthenticodeSignature -FilePath packaging\windows\write-machine-config.ps1 -Certificate $cert -TimestampServer $timestamp -HashAlgorithm SHA256
    if ($signed.Status -ne "Valid") { throw "signing write-machine-config.ps1 failed: $($signed.StatusMessage)" }
}

if (-not (Get-Command wix -ErrorAction SilentlyContinue)) {
    Invoke-Checked "dotnet tool install wix" { dotnet tool install --global wix --version $WixVersion }
    $env:PATH = "$env:PATH;$env:USERPROFILE\.dotnet\tools"
}
Invoke-Checked "wix extension add" { wix extension add -g "WixToolset.Util.wixext/$WixVersion" }

$msi = "dist\floorhand-$productVersion-x64.msi"
# Absolute bind paths: WiX resolves a relative one in a Files harvest against the .wxs file's
# folder, not the working directory, and would harvest nothing.
$bundleDir = (Resolve-Path dist\floorhand).Path
$setupDir = (Resolve-Path packaging\windows).Path
Invoke-Checked "wix build" {
    wix build packaging\windows\floorhand.wxs -arch x64 -ext WixToolset.Util.wixext `
        -d "Version=$productVersion" -bindpath "Bundle=$bundleDir" -bindpath "Setup=$setupDir" `
        -intermediatefolder build\wix -o $msi
}
# The harvest must have found the app: an MSI without floorhand.exe would install nothing.
$size = (Get-Item $msi).Length
if ($size -lt 20MB) { throw "$msi is only $([math]::Round($size / 1MB)) MB: the bundle was not harvested" }
Invoke-Sign @($msi)
Write-Output "built $msi"
