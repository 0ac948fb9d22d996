<#
.SYNOPSIS
  Writes server_url and device_name into Floorhand's machine config (%ProgramData%\Floorhand\config.toml).

.DESCRIPTION
  Run by the MSI as LocalSystem when SERVER_URL or DEVICE_NAME is given on the msiexec command
  line (packaging/windows/floorhand.wxs). An empty value leaves that key as it is. Every other
  line of an existing file (locked keys, tables, comments) is kept; the two keys are replaced
  where they stand at the top level, or added before the first [table]. The file is written as
  UTF-8 without a byte order mark, which TOML requires.

  The folder is made writable by Administrators and SYSTEM only and readable by Users: the
  machine config may lock settings, so users must not be able to change it.

  Exit code 0 on success; 1 on any error, which makes the MSI fail (1603) and roll back.
#>
param(
    [Parameter(Mandatory = $true)][string]$ConfigDir,
    [string]$ServerUrl = "",
    [string]$DeviceName = ""
)

$ErrorActionPreference = "Stop"

function ConvertTo-TomlString([string]$Value) {
    # A TOML basic string: backslash and double quote escaped; control characters refused.
    if ($Value -match '[\x00-\x1f\x7f]') { throw "control characters are not allowed in '$Value'" }
    return '"' + $Value.Replace('\', '\\').Replace('"', '\"') + '"'
}

function Set-TopLevelKey([System.Collections.Generic.List[string]]$Lines, [string]$Key, [string]$Value) {
    $line = "$Key = $(ConvertTo-TomlString $Value)"
    $pattern = '^\s*"?' + [regex]::Escape($Key) + '"?\s*='
    $firstTable = -1
    for ($i = 0; $i -lt $Lines.Count; $i++) {
        if ($Lines[$i] -match '^\s*\[') { $firstTable = $i; break }
        if ($Lines[$i] -match $pattern) { $Lines[$i] = $line; return }
    }
    if ($firstTable -ge 0) { $Lines.Insert($firstTable, $line) } else { $Lines.Add($line) }
}

try {
    $ServerUrl = $ServerUrl.Trim()
    $DeviceName = $DeviceName.Trim()
    if (-not $ServerUrl -and -not $DeviceName) {
        Write-Output "floorhand: neither SERVER_URL nor DEVICE_NAME given; machine config left as it is"
        exit 0
    }
    if ($ServerUrl -and $ServerUrl -notmatch '^https?://') {
        throw "SERVER_URL must start with https:// or http://, not '$ServerUrl'"
    }

    New-Item -ItemType Directory -Force -Path $ConfigDir | Out-Null
    # Administrators (S-1-5-32-544) and SYSTEM (S-1-5-18) full control, Users (S-1-5-32-545) read.
    & icacls.exe $ConfigDir /inheritance:r /grant:r "*S-1-5-32-544:(OI)(CI)F" "*S-1-5-18:(OI)(CI)F" "*S-1-5-32-545:(OI)(CI)RX" | Out-Null
    if ($LASTEXITCODE -ne 0) { throw "icacls failed on $ConfigDir (exit code $LASTEXITCODE)" }

    $path = Join-Path $ConfigDir "config.toml"
    $lines = New-Object System.Collections.Generic.List[string]
    if (Test-Path -LiteralPath $path) {
        foreach ($line in [System.IO.File]::ReadAllLines($path)) { $lines.Add($line.TrimStart([char]0xFEFF)) }
    } else {
        $lines.Add("# Floorhand machine config, written by the installer; see docs/deployment.md.")
        $lines.Add("# Keys listed in locked = [...] cannot be changed by users.")
    }
    if ($ServerUrl) { Set-TopLevelKey $lines "server_url" $ServerUrl }
    if ($DeviceName) { Set-TopLevelKey $lines "device_name" $DeviceName }

    $utf8 = New-Object System.Text.UTF8Encoding($false)
    [System.IO.File]::WriteAllLines($path, $lines, $utf8)
    Write-Output "floorhand: wrote $path (server_url: $(if ($ServerUrl) { $ServerUrl } else { 'unchanged' }), device_name: $(if ($DeviceName) { $DeviceName } else { 'unchanged' }))"
    exit 0
} catch {
    Write-Output "floorhand: cannot write the machine config: $_"
    exit 1
}
