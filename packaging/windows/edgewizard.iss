; EdgeWizard installer for Windows 10/11 x64 (Inno Setup 6.3 or later).
; UNTESTED: written and reviewed on Linux, never built or run on Windows. See packaging/README.md.
;
; Build, in a "x64 Native Tools" or plain PowerShell prompt at the repository root:
;   py -3.11 -m venv .venv
;   .venv\Scripts\python -m pip install -e ".[package]"
;   .venv\Scripts\python -m PyInstaller --noconfirm --distpath build\package\dist --workpath build\package\work packaging\edgewizard.spec
;   build\package\dist\edgewizard\edgewizard.exe --self-test
;   iscc /DAppVersion=0.1.0 packaging\windows\edgewizard.iss
; The installer lands in build\package\EdgeWizard-<version>-windows-x64-setup.exe.

#ifndef AppVersion
  #define AppVersion "0.1.0"
#endif
#define AppName "EdgeWizard"
#define AppExe "edgewizard.exe"
; Relative to this file's folder.
#define DistDir "..\..\build\package\dist\edgewizard"

[Setup]
; The AppId identifies the app to Windows' uninstaller across versions: never change it.
AppId={{78F4409B-6376-4B18-9119-01904672A251}
AppName={#AppName}
AppVersion={#AppVersion}
AppVerName={#AppName} {#AppVersion}
AppPublisher=EdgeWizard contributors
DefaultDirName={autopf}\{#AppName}
DefaultGroupName={#AppName}
DisableProgramGroupPage=yes
; Installs for the current user without administrator rights; the dialog offers all users.
PrivilegesRequired=lowest
PrivilegesRequiredOverridesAllowed=dialog
ArchitecturesAllowed=x64compatible
ArchitecturesInstallIn64BitMode=x64compatible
MinVersion=10.0
OutputDir=..\..\build\package
OutputBaseFilename=EdgeWizard-{#AppVersion}-windows-x64-setup
SetupIconFile=..\icons\edgewizard.ico
UninstallDisplayIcon={app}\{#AppExe}
UninstallDisplayName={#AppName}
; TensorFlow makes the folder about 2 GB: LZMA2 brings the installer well under Inno Setup's 2 GB limit
; for a single setup file.
Compression=lzma2/max
SolidCompression=yes
LZMANumBlockThreads=4
WizardStyle=modern
ChangesAssociations=yes
; Ask to close a running EdgeWizard first (its worker processes keep the DLLs open).
CloseApplications=yes

[Languages]
Name: "english"; MessagesFile: "compiler:Default.isl"

[Tasks]
Name: "desktopicon"; Description: "{cm:CreateDesktopIcon}"; GroupDescription: "{cm:AdditionalIcons}"; Flags: unchecked
Name: "openwith"; Description: "Offer EdgeWizard in ""Open with"" for model files (.h5, .keras, .pb, .tflite, .onnx, OpenVINO .xml)"; GroupDescription: "File types:"

[Files]
Source: "{#DistDir}\*"; DestDir: "{app}"; Flags: ignoreversion recursesubdirs createallsubdirs

[Icons]
Name: "{autoprograms}\{#AppName}"; Filename: "{app}\{#AppExe}"; Comment: "Take a trained model to an edge accelerator"
Name: "{autodesktop}\{#AppName}"; Filename: "{app}\{#AppExe}"; Tasks: desktopicon

; Model files: one ProgID, listed under each extension's OpenWithProgids. EdgeWizard is offered and
; becomes the default only for extensions no other program claims; .xml is never taken over.
[Registry]
Root: HKA; Subkey: "Software\Classes\EdgeWizard.Model"; ValueType: string; ValueName: ""; ValueData: "Model for EdgeWizard"; Flags: uninsdeletekey; Tasks: openwith
Root: HKA; Subkey: "Software\Classes\EdgeWizard.Model\DefaultIcon"; ValueType: string; ValueName: ""; ValueData: "{app}\{#AppExe},0"; Tasks: openwith
Root: HKA; Subkey: "Software\Classes\EdgeWizard.Model\shell\open\command"; ValueType: string; ValueName: ""; ValueData: """{app}\{#AppExe}"" ""%1"""; Tasks: openwith
Root: HKA; Subkey: "Software\Classes\.h5\OpenWithProgids"; ValueType: string; ValueName: "EdgeWizard.Model"; ValueData: ""; Flags: uninsdeletevalue; Tasks: openwith
Root: HKA; Subkey: "Software\Classes\.keras\OpenWithProgids"; ValueType: string; ValueName: "EdgeWizard.Model"; ValueData: ""; Flags: uninsdeletevalue; Tasks: openwith
Root: HKA; Subkey: "Software\Classes\.pb\OpenWithProgids"; ValueType: string; ValueName: "EdgeWizard.Model"; ValueData: ""; Flags: uninsdeletevalue; Tasks: openwith
Root: HKA; Subkey: "Software\Classes\.tflite\OpenWithProgids"; ValueType: string; ValueName: "EdgeWizard.Model"; ValueData: ""; Flags: uninsdeletevalue; Tasks: openwith
Root: HKA; Subkey: "Software\Classes\.onnx\OpenWithProgids"; ValueType: string; ValueName: "EdgeWizard.Model"; ValueData: ""; Flags: uninsdeletevalue; Tasks: openwith
Root: HKA; Subkey: "Software\Classes\.xml\OpenWithProgids"; ValueType: string; ValueName: "EdgeWizard.Model"; ValueData: ""; Flags: uninsdeletevalue; Tasks: openwith
Root: HKA; Subkey: "Software\Classes\Applications\{#AppExe}\SupportedTypes"; ValueType: string; ValueName: ".tflite"; ValueData: ""; Flags: uninsdeletekey; Tasks: openwith
Root: HKA; Subkey: "Software\Classes\Applications\{#AppExe}\SupportedTypes"; ValueType: string; ValueName: ".keras"; ValueData: ""; Tasks: openwith
Root: HKA; Subkey: "Software\Classes\Applications\{#AppExe}\SupportedTypes"; ValueType: string; ValueName: ".h5"; ValueData: ""; Tasks: openwith
Root: HKA; Subkey: "Software\Classes\Applications\{#AppExe}\SupportedTypes"; ValueType: string; ValueName: ".pb"; ValueData: ""; Tasks: openwith
Root: HKA; Subkey: "Software\Classes\Applications\{#AppExe}\SupportedTypes"; ValueType: string; ValueName: ".onnx"; ValueData: ""; Tasks: openwith
Root: HKA; Subkey: "Software\Classes\Applications\{#AppExe}\SupportedTypes"; ValueType: string; ValueName: ".xml"; ValueData: ""; Tasks: openwith

[Run]
Filename: "{app}\{#AppExe}"; Description: "{cm:LaunchProgram,{#AppName}}"; Flags: nowait postinstall skipifsilent

; The uninstaller removes exactly what [Files], [Icons] and [Registry] added. The person's settings
; (HKCU\Software\EdgeWizard, written by Qt) and converted models are theirs and stay.
